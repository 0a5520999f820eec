//! Outgoing mail through a durable outbox.
//!
//! Services call [`outbox::enqueue`] inside their own transaction, so a message exists exactly
//! when the change that caused it commits. The `mail` job ([`job::MailJob`]) delivers due
//! messages through the configured [`transport::Transport`], with retries and backoff.

pub mod job;
pub mod outbox;
pub mod templates;
pub mod transport;

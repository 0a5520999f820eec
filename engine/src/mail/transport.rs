//! Where messages go: the log (development only), `.eml` files, or SMTP.

use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret;

use crate::config::{MailConfig, MailTransportKind, SmtpSecurity};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("invalid message: {0}")]
    Message(String),
    #[error("cannot write mail file: {0}")]
    File(#[from] std::io::Error),
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

pub enum Transport {
    Log,
    File(PathBuf),
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    pub fn from_config(config: &MailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config.from.parse()?;
        let transport = match config.transport {
            MailTransportKind::Log => Transport::Log,
            MailTransportKind::File => Transport::File(config.file_dir.clone()),
            MailTransportKind::Smtp => {
                let smtp = &config.smtp;
                let builder = match smtp.security {
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                    SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?,
                    SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
                };
                let mut builder = builder.port(smtp.port);
                if !smtp.username.is_empty() {
                    builder = builder
                        .credentials(Credentials::new(smtp.username.clone(), smtp.password.expose_secret().to_owned()));
                }
                Transport::Smtp(Box::new(builder.build()))
            }
        };
        Ok(Self { from, transport })
    }

    pub async fn send(&self, id: &str, recipient: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let to: Mailbox = recipient.parse().map_err(|e| SendError::Message(format!("recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| SendError::Message(e.to_string()))?;
        match &self.transport {
            Transport::Log => {
                // Development only (refused in production). The body is withheld: it may hold a
                // password reset link, and logs never carry those. Use the `file` transport to
                // read messages.
                tracing::info!(target: "mail", mail_id = id, to = recipient, subject, bytes = body.len(), "mail (body withheld)");
                Ok(())
            }
            Transport::File(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                // Written under a temporary name, then renamed: readers never see half a file.
                let tmp = dir.join(format!(".{id}.tmp"));
                tokio::fs::write(&tmp, message.formatted()).await?;
                tokio::fs::rename(&tmp, dir.join(format!("{id}.eml"))).await?;
                Ok(())
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
                Ok(())
            }
        }
    }
}

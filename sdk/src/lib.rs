//! SDK for commerce engine plugins.
//!
//! Placeholder: the WIT contract, the `Money` type and the native test harness arrive with the
//! plugin platform (issue 4). The crate exists now so the workspace has its final shape.
#![deny(missing_docs)]

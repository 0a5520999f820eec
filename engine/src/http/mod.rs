//! HTTP plumbing shared by every domain's API layer.

pub mod cached;
pub mod client_addr;
pub mod middleware;
pub mod nullable;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod raw_json;
pub mod replay;
pub mod security;
pub mod text;

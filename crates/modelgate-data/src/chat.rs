//! Chat / instruction fine-tuning data (filled in below).
use crate::error::Result;
use crate::read::Records;
use crate::report::Report;

#[derive(Debug, Clone, Default)]
pub struct ChatOptions {}

pub fn audit_chat(_records: &Records, _opts: &ChatOptions) -> Result<Report> {
    Err(crate::error::DataError::Invalid(
        "chat audit: not yet implemented".into(),
    ))
}

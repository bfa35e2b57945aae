//! Keeping a town's knowledge through disk failures, upgrades and moves:
//! * [`backup`]: online backup archives and their restore;
//! * [`export`]: the référents' work as readable JSONL, imported back
//!   idempotently;
//! * [`check`]: an integrity check that says what to do;
//! * [`reviewed`]: evaluation cases made from the référents' reviews.
//!
//! Schema versions and migrations live in [`crate::schema`].

pub mod backup;
pub mod check;
pub mod export;
pub mod reviewed;

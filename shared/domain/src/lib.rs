//! picsync's pure core. No I/O, no async, no AWS or HTTP.
pub mod time;

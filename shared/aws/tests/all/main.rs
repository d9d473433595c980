//! The AWS adapters' tests against the stand-ins (DynamoDB Local, moto server), and the
//! template's metrics, in one test binary (issue 15 item 5: one link instead of one per file).
#![allow(unused_crate_dependencies)] // a test binary links every dev-dependency of its package

mod dynamo;
mod secrets;
mod template_metrics;

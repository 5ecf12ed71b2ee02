//! The cluster-wide service catalogue.
pub mod service;
pub use service::{Port, Service, ServiceStatus};

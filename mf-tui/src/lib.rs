pub mod engine;
pub mod dashboard;

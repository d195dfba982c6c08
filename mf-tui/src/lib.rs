//! The `mf` binary's library: the headless commands and the terminal dashboard, over the experiment library
//! `mf-lab`.

pub mod catalog;
pub mod commands;
pub mod dashboard;

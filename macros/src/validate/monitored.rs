//! `#[monitored]`: any function and any return type; its arguments are checked as they
//! are parsed.

use super::Check;
use crate::args::monitored::MonitoredArgs;

impl Check for MonitoredArgs {}

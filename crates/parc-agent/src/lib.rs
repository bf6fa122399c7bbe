//! `parc agent`: a native inventory agent speaking the GLPI agent JSON protocol.
//!
//! * [`collect`] gathers this machine's inventory as a GLPI `inventory` message (keys of the public
//!   glpi-project/inventory_format schema), with a `deviceid` generated once and kept in a state file.
//! * [`send`] posts it the way glpi-agent does: a JSON `contact` first, then the zlib-compressed inventory.
//!
//! Linux is the complete target. On Windows and macOS only what `sysinfo` gives portably is sent: hostname,
//! OS, CPUs, memory, mounted volumes, network cards; there is no BIOS/DMI section, no physical disks
//! (`storages`), no memory modules, no software list, and no logged-on users on Windows (macOS has `who`).

mod collect;
mod deviceid;
#[cfg(target_os = "linux")]
mod linux;
mod send;
// Only Linux exposes the raw SMBIOS table to read memory modules from.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod smbios;
mod software;

use std::path::PathBuf;

pub use collect::collect;
pub use deviceid::default_state_dir;
pub use send::{inventory_url, send, SendReport};
pub use software::{parse_dpkg_status, DpkgPackage};

/// This crate's version, sent as `versionclient` (`parc-agent/<version>`), in the contact and as User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `parc-agent/<version>`.
pub fn agent_string() -> String {
    format!("parc-agent/{VERSION}")
}

/// What [`collect`] needs besides the machine itself.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Free text the server may use to route the machine (GLPI `tag`); sent only when set.
    pub tag: Option<String>,
    /// Where the `deviceid` is kept between runs (created when missing).
    pub state_dir: PathBuf,
}

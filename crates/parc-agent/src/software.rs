//! Installed software: Debian's `/var/lib/dpkg/status` and `rpm -qa`.
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

/// One installed package of a dpkg status file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpkgPackage {
    pub name: String,
    pub version: Option<String>,
    pub arch: Option<String>,
    /// The `Maintainer` without its e-mail address.
    pub publisher: Option<String>,
    pub section: Option<String>,
    /// The first line of `Description`.
    pub summary: Option<String>,
}

/// Is a dpkg `Status` value (`want flag status`) an installed package? `install ok installed`, and also
/// `hold ok installed` (a package pinned at its version is installed all the same).
fn installed(status: &str) -> bool {
    let words: Vec<&str> = status.split_whitespace().collect();
    matches!(words.as_slice(), ["install" | "hold", "ok", "installed"])
}

/// `Jane Doe <jane@example.org>` -> `Jane Doe`; a bare address gives `None`.
fn without_email(maintainer: &str) -> Option<String> {
    let name = match maintainer.find('<') {
        Some(i) => &maintainer[..i],
        None => maintainer,
    };
    let name = name.trim().trim_matches('"').trim();
    (!name.is_empty() && !name.contains('@')).then(|| name.to_owned())
}

/// The installed packages of a dpkg status file. Stanzas are separated by blank lines; continuation lines
/// of multi-line fields (starting with a space or a tab) are skipped, so only the first line of a field counts.
pub fn parse_dpkg_status(text: &str) -> Vec<DpkgPackage> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields: Vec<(&str, &str)> = Vec::new();
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) || line.trim().is_empty() {
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                fields.push((key.trim(), value.trim()));
            }
        }
        let get = |key: &str| {
            fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| *v).filter(|v| !v.is_empty())
        };
        let (Some(name), Some(status)) = (get("Package"), get("Status")) else { continue };
        if !installed(status) {
            continue;
        }
        out.push(DpkgPackage {
            name: name.to_owned(),
            version: get("Version").map(str::to_owned),
            arch: get("Architecture").map(str::to_owned),
            publisher: get("Maintainer").and_then(without_email),
            section: get("Section").map(str::to_owned),
            summary: get("Description").map(str::to_owned),
        });
    }
    out
}

/// `YYYY-MM-DD` (local time) of a Unix timestamp.
fn local_date(secs: i64) -> Option<String> {
    let utc = chrono::DateTime::from_timestamp(secs, 0)?;
    Some(utc.with_timezone(&chrono::Local).format("%Y-%m-%d").to_string())
}

/// Install date of a Debian package: the modification time of its file list in `/var/lib/dpkg/info`.
fn dpkg_install_date(info_dir: &Path, p: &DpkgPackage) -> Option<String> {
    let mut candidates = Vec::new();
    if let Some(arch) = &p.arch {
        candidates.push(info_dir.join(format!("{}:{arch}.list", p.name)));
    }
    candidates.push(info_dir.join(format!("{}.list", p.name)));
    let modified = candidates.iter().find_map(|c| std::fs::metadata(c).and_then(|m| m.modified()).ok())?;
    let secs = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    local_date(i64::try_from(secs).ok()?)
}

fn put(obj: &mut Map<String, Value>, key: &str, value: Option<String>) {
    if let Some(v) = value {
        obj.insert(key.to_owned(), Value::String(v));
    }
}

/// Software entries from a dpkg status file (`info_dir` holds the `*.list` files giving install dates).
pub(crate) fn dpkg_software(status_file: &Path, info_dir: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(status_file) else { return Vec::new() };
    parse_dpkg_status(&text)
        .into_iter()
        .map(|p| {
            let mut o = Map::new();
            o.insert("name".into(), json!(p.name));
            put(&mut o, "install_date", dpkg_install_date(info_dir, &p));
            put(&mut o, "version", p.version);
            put(&mut o, "arch", p.arch);
            put(&mut o, "publisher", p.publisher);
            put(&mut o, "system_category", p.section);
            put(&mut o, "comments", p.summary);
            o.insert("from".into(), json!("deb"));
            Value::Object(o)
        })
        .collect()
}

/// The `--queryformat` given to `rpm -qa`: one tab-separated line per package.
pub(crate) const RPM_QUERY_FORMAT: &str =
    "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{INSTALLTIME}\\t%{GROUP}\\t%{SUMMARY}\\n";

/// Software entries from the output of `rpm -qa --queryformat RPM_QUERY_FORMAT` (`(none)` means absent).
pub(crate) fn parse_rpm_output(out: &str) -> Vec<Value> {
    out.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let field =
                |i: usize| f.get(i).map(|s| s.trim()).filter(|s| !s.is_empty() && *s != "(none)").map(str::to_owned);
            let name = field(0)?;
            if name == "gpg-pubkey" {
                return None; // imported signing keys, not software
            }
            let mut o = Map::new();
            o.insert("name".into(), json!(name));
            put(&mut o, "version", field(1));
            put(&mut o, "arch", field(2));
            put(&mut o, "publisher", field(3));
            put(&mut o, "install_date", field(4).and_then(|s| s.parse::<i64>().ok()).and_then(local_date));
            put(&mut o, "system_category", field(5));
            put(&mut o, "comments", field(6));
            o.insert("from".into(), json!("rpm"));
            Some(Value::Object(o))
        })
        .collect()
}

/// An executable named `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Every package known to dpkg and rpm on this machine.
pub(crate) fn collect() -> Vec<Value> {
    let mut out = dpkg_software(Path::new("/var/lib/dpkg/status"), Path::new("/var/lib/dpkg/info"));
    if let Some(rpm) = which("rpm") {
        if let Ok(o) = Command::new(rpm).args(["-qa", "--queryformat", RPM_QUERY_FORMAT]).output() {
            if o.status.success() {
                out.extend(parse_rpm_output(&String::from_utf8_lossy(&o.stdout)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: adduser
Status: install ok installed
Priority: important
Section: admin
Installed-Size: 849
Maintainer: Debian Adduser Developers <adduser@packages.debian.org>
Architecture: all
Multi-Arch: foreign
Version: 3.134
Depends: passwd (>= 1:4.5-1)
Conffiles:
 /etc/deluser.conf 773fb95e98a27947de4a95abb3d3f2a2
Description: add and remove users and groups
 This package includes the 'adduser' and 'deluser' commands for creating
 Package: fake-from-description
 Version: 9.9
 Status: deinstall ok config-files

Package: removed-tool
Status: deinstall ok config-files
Maintainer: Someone <someone@example.org>
Architecture: amd64
Version: 1.0-1
Description: a removed package leaves its configuration

Package: libc6
Status: hold ok installed
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Version: 2.36-9+deb12u4
Section: libs
Description: GNU C Library: Shared libraries

Package: half-installed
Status: install reinstreq half-installed
Version: 0.1

Package: bare
Status: install ok installed
Maintainer: <only@mail.example>
";

    #[test]
    fn dpkg_status() {
        let pkgs = parse_dpkg_status(STATUS);
        let names: Vec<&str> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["adduser", "libc6", "bare"], "deinstalled and half-installed packages excluded");
        let adduser = &pkgs[0];
        assert_eq!(adduser.version.as_deref(), Some("3.134"));
        assert_eq!(adduser.arch.as_deref(), Some("all"));
        assert_eq!(adduser.publisher.as_deref(), Some("Debian Adduser Developers"));
        assert_eq!(adduser.section.as_deref(), Some("admin"));
        assert_eq!(adduser.summary.as_deref(), Some("add and remove users and groups"));
        assert_eq!(pkgs[1].version.as_deref(), Some("2.36-9+deb12u4"));
        assert_eq!(pkgs[1].publisher.as_deref(), Some("GNU Libc Maintainers"));
        assert_eq!(pkgs[2].version, None);
        assert_eq!(pkgs[2].publisher, None, "a bare address is no publisher name");
    }

    #[test]
    fn dpkg_software_entries_with_install_date() {
        let dir = tempfile::tempdir().unwrap();
        let status = dir.path().join("status");
        std::fs::write(&status, STATUS).unwrap();
        let info = dir.path().join("info");
        std::fs::create_dir(&info).unwrap();
        std::fs::write(info.join("libc6:amd64.list"), "/.\n").unwrap();
        let sw = dpkg_software(&status, &info);
        assert_eq!(sw.len(), 3);
        assert_eq!(sw[0]["name"], "adduser");
        assert_eq!(sw[0]["from"], "deb");
        assert!(sw[0].get("install_date").is_none(), "no .list file, no date");
        let today = chrono::Local::now().format("%Y-%m-%d").to_string();
        assert_eq!(sw[1]["install_date"], today.as_str());
        assert_eq!(sw[1]["system_category"], "libs");
    }

    #[test]
    fn rpm_output() {
        let out = "bash\t5.2.26-3.fc40\tx86_64\tFedora Project\t1713441234\tUnspecified\tThe GNU Bourne Again shell\n\
                   gpg-pubkey\ta15b79cc-63d04c2c\t(none)\t(none)\t1713441000\tPublic Keys\tgpg(Fedora)\n\
                   local-tool\t1.0-1\tnoarch\t(none)\tnot-a-number\t(none)\t(none)\n";
        let sw = parse_rpm_output(out);
        assert_eq!(sw.len(), 2, "gpg-pubkey skipped");
        assert_eq!(sw[0]["name"], "bash");
        assert_eq!(sw[0]["version"], "5.2.26-3.fc40");
        assert_eq!(sw[0]["publisher"], "Fedora Project");
        assert_eq!(sw[0]["from"], "rpm");
        let date = sw[0]["install_date"].as_str().unwrap();
        assert!(date == "2024-04-18" || date == "2024-04-17" || date == "2024-04-19", "{date}");
        assert!(sw[1].get("publisher").is_none());
        assert!(sw[1].get("install_date").is_none());
    }
}

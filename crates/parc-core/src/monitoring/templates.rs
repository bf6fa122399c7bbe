//! Built-in host templates: the checks a technician expects on a kind of machine ("Linux
//! server": ping, disk /, load, SSH). Applying one when a host is created adds its services.
//!
//! Plugin commands use `$USER1$` (the plugin directory, `/usr/lib/nagios/plugins` on Debian)
//! and `$HOSTADDRESS$`; remote disk and load go through `check_by_ssh`, as with a Nagios
//! set-up without NRPE (the Parc user's SSH key must be allowed on the server).

use super::check::CheckDefinition;
use serde::Serialize;
use serde_json::json;

/// One service a template adds.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ServiceTemplate {
    pub name: String,
    pub check: CheckDefinition,
    pub check_interval_s: i64,
    pub retry_interval_s: i64,
    pub max_attempts: i64,
}

/// A named set of services.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HostTemplate {
    /// Stable key (`linux_server`); the web layer translates `monitor.template.<key>`.
    pub key: &'static str,
    pub services: Vec<ServiceTemplate>,
}

fn def(value: serde_json::Value) -> CheckDefinition {
    serde_json::from_value(value).expect("built-in check definitions are valid")
}

fn svc(name: &str, check: serde_json::Value) -> ServiceTemplate {
    ServiceTemplate {
        name: name.to_owned(),
        check: def(check),
        check_interval_s: 300,
        retry_interval_s: 60,
        max_attempts: 3,
    }
}

/// The default host check: a native ping, DOWN when no echo comes back (Nagios'
/// check-host-alive thresholds: 3 s and 80 % loss for WARNING, 5 s and 100 % for CRITICAL).
pub fn host_check() -> CheckDefinition {
    def(json!({"type": "ping", "warning": "3000,80%", "critical": "5000,100%", "packets": 1}))
}

/// Every built-in template, in display order.
pub fn all() -> Vec<HostTemplate> {
    let by_ssh = |cmd: &str| json!({"type": "plugin", "command": "$USER1$/check_by_ssh -H $HOSTADDRESS$ -C '$ARG1$'", "args": [cmd]});
    vec![
        HostTemplate {
            key: "linux_server",
            services: vec![
                svc("Disque /", by_ssh("/usr/lib/nagios/plugins/check_disk -w 10% -c 5% -p /")),
                svc("Charge", by_ssh("/usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6")),
                svc("SSH", json!({"type": "tcp", "port": 22, "expect": "SSH-"})),
            ],
        },
        HostTemplate {
            key: "windows_server",
            services: vec![
                svc("Bureau à distance", json!({"type": "tcp", "port": 3389})),
                svc("Partage de fichiers", json!({"type": "tcp", "port": 445})),
            ],
        },
        HostTemplate { key: "printer", services: vec![svc("Interface web", json!({"type": "http", "path": "/"}))] },
        HostTemplate { key: "switch", services: vec![] },
        HostTemplate {
            key: "web_site",
            services: vec![
                svc("HTTPS", json!({"type": "http", "tls": true, "path": "/"})),
                svc(
                    "Certificat",
                    json!({"type": "tls_certificate", "port": 443, "warning_days": 30, "critical_days": 7}),
                ),
            ],
        },
    ]
}

/// The template of that key.
pub fn find(key: &str) -> Option<HostTemplate> {
    all().into_iter().find(|t| t.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_are_valid() {
        assert!(host_check().validate().is_ok());
        for t in all() {
            for s in &t.services {
                assert!(s.check.validate().is_ok(), "{} / {}: {:?}", t.key, s.name, s.check.validate());
            }
        }
        assert!(find("linux_server").is_some_and(|t| t.services.len() == 3));
        assert!(find("nope").is_none());
    }
}

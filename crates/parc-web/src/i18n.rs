//! The translation catalogue: every string a user sees comes from here. French is the default,
//! English is complete. Each feature has its own file under `i18n/<lang>/`, merged at start-up;
//! a test checks that both languages have the same keys and that templates only use known keys.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header, in order of preference.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut langs: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        langs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        langs.into_iter().find_map(|(_, tag)| Lang::parse(tag.split('-').next().unwrap_or(tag)))
    }
}

/// The catalogue files, by language. Add a feature's file to both lists.
const FILES: &[(Lang, &str, &str)] = &[
    (Lang::Fr, "common", include_str!("../i18n/fr/common.toml")),
    (Lang::En, "common", include_str!("../i18n/en/common.toml")),
    (Lang::Fr, "assets", include_str!("../i18n/fr/assets.toml")),
    (Lang::En, "assets", include_str!("../i18n/en/assets.toml")),
    (Lang::Fr, "admin", include_str!("../i18n/fr/admin.toml")),
    (Lang::En, "admin", include_str!("../i18n/en/admin.toml")),
    (Lang::Fr, "io", include_str!("../i18n/fr/io.toml")),
    (Lang::En, "io", include_str!("../i18n/en/io.toml")),
    (Lang::Fr, "inventory", include_str!("../i18n/fr/inventory.toml")),
    (Lang::En, "inventory", include_str!("../i18n/en/inventory.toml")),
    (Lang::Fr, "helpdesk", include_str!("../i18n/fr/helpdesk.toml")),
    (Lang::En, "helpdesk", include_str!("../i18n/en/helpdesk.toml")),
    (Lang::Fr, "attachments", include_str!("../i18n/fr/attachments.toml")),
    (Lang::En, "attachments", include_str!("../i18n/en/attachments.toml")),
    (Lang::Fr, "hotline", include_str!("../i18n/fr/hotline.toml")),
    (Lang::En, "hotline", include_str!("../i18n/en/hotline.toml")),
    (Lang::Fr, "mail", include_str!("../i18n/fr/mail.toml")),
    (Lang::En, "mail", include_str!("../i18n/en/mail.toml")),
    (Lang::Fr, "planning", include_str!("../i18n/fr/planning.toml")),
    (Lang::En, "planning", include_str!("../i18n/en/planning.toml")),
    (Lang::Fr, "notify", include_str!("../i18n/fr/notify.toml")),
    (Lang::En, "notify", include_str!("../i18n/en/notify.toml")),
    (Lang::Fr, "reports", include_str!("../i18n/fr/reports.toml")),
    (Lang::En, "reports", include_str!("../i18n/en/reports.toml")),
    (Lang::Fr, "monitoring", include_str!("../i18n/fr/monitoring.toml")),
    (Lang::En, "monitoring", include_str!("../i18n/en/monitoring.toml")),
    (Lang::Fr, "monitoring_admin", include_str!("../i18n/fr/monitoring_admin.toml")),
    (Lang::En, "monitoring_admin", include_str!("../i18n/en/monitoring_admin.toml")),
    (Lang::Fr, "campaigns", include_str!("../i18n/fr/campaigns.toml")),
    (Lang::En, "campaigns", include_str!("../i18n/en/campaigns.toml")),
    (Lang::Fr, "alerts", include_str!("../i18n/fr/alerts.toml")),
    (Lang::En, "alerts", include_str!("../i18n/en/alerts.toml")),
    (Lang::Fr, "stock", include_str!("../i18n/fr/stock.toml")),
    (Lang::En, "stock", include_str!("../i18n/en/stock.toml")),
    (Lang::Fr, "loans", include_str!("../i18n/fr/loans.toml")),
    (Lang::En, "loans", include_str!("../i18n/en/loans.toml")),
    (Lang::Fr, "checklists", include_str!("../i18n/fr/checklists.toml")),
    (Lang::En, "checklists", include_str!("../i18n/en/checklists.toml")),
    (Lang::Fr, "handover", include_str!("../i18n/fr/handover.toml")),
    (Lang::En, "handover", include_str!("../i18n/en/handover.toml")),
    (Lang::Fr, "contacts", include_str!("../i18n/fr/contacts.toml")),
    (Lang::En, "contacts", include_str!("../i18n/en/contacts.toml")),
];

#[derive(Debug, Default)]
pub struct I18n {
    fr: HashMap<String, String>,
    en: HashMap<String, String>,
}

impl I18n {
    /// Loads the embedded catalogue; a malformed file is a programming error caught by tests.
    pub fn load() -> I18n {
        let mut i = I18n::default();
        for (lang, name, text) in FILES {
            let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("i18n/{}/{name}.toml: {e}", lang.code()));
            let map = match lang {
                Lang::Fr => &mut i.fr,
                Lang::En => &mut i.en,
            };
            flatten("", &table, map);
        }
        i
    }

    /// The text for `key`, or the key itself when missing (tests make that never happen).
    pub fn t<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        let map = match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        };
        map.get(key).map(String::as_str).unwrap_or(key)
    }

    pub fn has(&self, lang: Lang, key: &str) -> bool {
        match lang {
            Lang::Fr => self.fr.contains_key(key),
            Lang::En => self.en.contains_key(key),
        }
    }

    /// Replaces `{name}` placeholders.
    pub fn tf(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(lang, key).to_owned();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    pub fn keys(&self, lang: Lang) -> Vec<&str> {
        let map = match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        };
        let mut v: Vec<&str> = map.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out),
            other => panic!("i18n key {key}: expected a string, got {other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys() {
        let i = I18n::load();
        let fr = i.keys(Lang::Fr);
        let en = i.keys(Lang::En);
        let missing_en: Vec<_> = fr.iter().filter(|k| !i.has(Lang::En, k)).collect();
        let missing_fr: Vec<_> = en.iter().filter(|k| !i.has(Lang::Fr, k)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_fr.is_empty(), "missing in fr: {missing_fr:?}");
    }

    #[test]
    fn templates_and_code_use_known_keys() {
        let i = I18n::load();
        let mut unknown = Vec::new();
        let roots = [concat!(env!("CARGO_MANIFEST_DIR"), "/templates"), concat!(env!("CARGO_MANIFEST_DIR"), "/src")];
        for root in roots {
            for path in walk(std::path::Path::new(root)) {
                let text = std::fs::read_to_string(&path).unwrap();
                for (marker, end) in [("t(\"", '"'), ("tr(\"", '"')] {
                    let mut rest = text.as_str();
                    while let Some(pos) = rest.find(marker) {
                        rest = &rest[pos + marker.len()..];
                        let Some(stop) = rest.find(end) else { break };
                        let key = &rest[..stop];
                        if key.contains('.') && !key.contains(' ') && !key.contains('{') && !i.has(Lang::Fr, key) {
                            unknown.push(format!("{}: {key}", path.display()));
                        }
                    }
                }
            }
        }
        assert!(unknown.is_empty(), "unknown catalogue keys:\n{}", unknown.join("\n"));
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9,fr;q=0.8"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("de-DE,fr;q=0.5,en;q=0.4"), Some(Lang::Fr));
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::from_accept_language("fr-FR"), Some(Lang::Fr));
    }
}

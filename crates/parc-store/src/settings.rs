//! Organisation-wide settings (name, hotline number, logo, label layout).

use crate::{audit, Actor, Result};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::validate::{check_text, ValidationErrors};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    pub organisation_name: String,
    pub hotline_number: String,
    /// A logo as a `data:image/png;base64,...` or `data:image/svg+xml;base64,...` URL, or empty.
    pub logo_data_url: String,
    /// "fr" or "en": the language when neither the user nor the browser says otherwise.
    pub default_language: String,
    /// Base URL printed in QR labels, e.g. "https://parc.mairie.example" (empty: this server's).
    pub public_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            organisation_name: "Parc".into(),
            hotline_number: String::new(),
            logo_data_url: String::new(),
            default_language: "fr".into(),
            public_url: String::new(),
        }
    }
}

impl Settings {
    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("organisation_name", &self.organisation_name),
            ("hotline_number", &self.hotline_number),
            ("logo_data_url", &self.logo_data_url),
            ("default_language", &self.default_language),
            ("public_url", &self.public_url),
        ]
    }

    pub fn validate(&self) -> std::result::Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.organisation_name.trim().is_empty() {
            e.add("organisation_name", "required", "is required");
        }
        check_text(&mut e, "organisation_name", Some(&self.organisation_name), 200, false);
        check_text(&mut e, "hotline_number", Some(&self.hotline_number), 40, false);
        check_text(&mut e, "public_url", Some(&self.public_url), 300, false);
        if !["fr", "en"].contains(&self.default_language.as_str()) {
            e.add("default_language", "unknown_value", "must be fr or en");
        }
        let url_ok = self.public_url.is_empty()
            || self.public_url.starts_with("http://")
            || self.public_url.starts_with("https://");
        if !url_ok {
            e.add("public_url", "url_format", "must start with http:// or https://");
        }
        if !self.logo_data_url.is_empty() {
            let ok = ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/svg+xml;base64,"]
                .iter()
                .any(|p| self.logo_data_url.starts_with(p));
            if !ok {
                e.add("logo", "image_format", "must be a PNG, JPEG or SVG image");
            }
            if self.logo_data_url.len() > 700_000 {
                e.add("logo", "too_large", "must be at most 500 KB");
            }
        }
        e.into_result()
    }
}

pub async fn get(c: &mut AnyConnection) -> Result<Settings> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings").fetch_all(c).await?;
    let mut s = Settings::default();
    for (k, v) in rows {
        match k.as_str() {
            "organisation_name" => s.organisation_name = v,
            "hotline_number" => s.hotline_number = v,
            "logo_data_url" => s.logo_data_url = v,
            "default_language" => s.default_language = v,
            "public_url" => s.public_url = v,
            _ => {}
        }
    }
    Ok(s)
}

/// Replaces the settings, auditing each changed value (the logo as "changed" only).
pub async fn put(c: &mut AnyConnection, actor: &Actor, new: &Settings) -> Result<()> {
    new.validate()?;
    let old = get(c).await?;
    let mut changes = Vec::new();
    for ((k, o), (_, n)) in old.pairs().into_iter().zip(new.pairs()) {
        if o == n {
            continue;
        }
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(k)
        .bind(n)
        .execute(&mut *c)
        .await?;
        let shown = |v: &str| {
            if k == "logo_data_url" {
                Some(if v.is_empty() { "-".into() } else { "(image)".into() })
            } else {
                Some(v.to_owned())
            }
        };
        changes.push(FieldChange { field: k.to_owned(), old: shown(o), new: shown(n) });
    }
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Settings, 0, None, AuditAction::Update, &changes).await?;
    }
    Ok(())
}

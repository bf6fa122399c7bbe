//! Checklists: templates of ordered steps, each optionally mandatory and asking for evidence
//! (a tick, a value such as an OS version, a photo), run on an asset. The rule that matters:
//! an asset is not handed over (status `in_use`) while a mandatory step of one of its runs is
//! open ([`handover_blockers`]). The two built-in templates ship here in French and English.

use crate::assets::{string_enum, AssetKind};
use crate::validate::{check_text, clean, ValidationErrors};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// At most this many steps in a template.
pub const MAX_STEPS: usize = 100;
/// Longest step label, template name, hint and value.
pub const MAX_LABEL: usize = 200;
pub const MAX_VALUE: usize = 500;

string_enum!(
    /// What a step asks for when it is ticked.
    Evidence {
        /// Nothing but the tick.
        Tick = "tick",
        /// A non-empty value (an OS version, a serial, a login...).
        Value = "value",
        /// A photo (the screen protector fitted, the wallpaper set).
        Photo = "photo",
    }
);

/// A step as a template defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepDef {
    pub label: String,
    pub mandatory: bool,
    pub evidence: Evidence,
    /// What the value is, e.g. "Android version" (value evidence only).
    pub hint: Option<String>,
}

/// A template as sent by a form or the API, before validation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: Option<String>,
    /// The kind of asset it applies to (any kind when empty).
    pub asset_kind: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepInput>,
}

/// One step of a [`TemplateInput`], in order.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    pub label: Option<String>,
    #[serde(default)]
    pub mandatory: bool,
    /// tick (default), value or photo.
    pub evidence: Option<String>,
    pub hint: Option<String>,
}

/// A valid template: a name, an optional kind, 1 to [`MAX_STEPS`] steps in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDraft {
    pub name: String,
    pub asset_kind: Option<AssetKind>,
    pub steps: Vec<StepDef>,
}

impl TemplateInput {
    /// Checks the template; errors name the field (`steps[2].label`).
    pub fn validate(&self) -> Result<TemplateDraft, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = clean(self.name.as_deref());
        match &name {
            None => e.add("name", "required", "a checklist needs a name"),
            Some(n) => check_text(&mut e, "name", Some(n), MAX_LABEL, false),
        }
        let asset_kind = match clean(self.asset_kind.as_deref()) {
            None => None,
            Some(k) => match AssetKind::from_str(&k) {
                Ok(k) => Some(k),
                Err(_) => {
                    e.add("asset_kind", "invalid_choice", "unknown kind of asset");
                    None
                }
            },
        };
        if self.steps.is_empty() {
            e.add("steps", "required", "a checklist needs at least one step");
        }
        if self.steps.len() > MAX_STEPS {
            e.add("steps", "too_many", format!("at most {MAX_STEPS} steps"));
        }
        let mut steps = Vec::new();
        for (i, s) in self.steps.iter().enumerate().take(MAX_STEPS) {
            let field = |f: &str| format!("steps[{i}].{f}");
            let label = clean(s.label.as_deref());
            match &label {
                None => e.add(&field("label"), "required", "a step needs a label"),
                Some(l) => check_text(&mut e, &field("label"), Some(l), MAX_LABEL, false),
            }
            let evidence = match clean(s.evidence.as_deref()) {
                None => Evidence::Tick,
                Some(v) => Evidence::from_str(&v).unwrap_or_else(|_| {
                    e.add(&field("evidence"), "invalid_choice", "evidence is tick, value or photo");
                    Evidence::Tick
                }),
            };
            let hint = clean(s.hint.as_deref());
            check_text(&mut e, &field("hint"), hint.as_deref(), MAX_LABEL, false);
            steps.push(StepDef {
                label: label.unwrap_or_default(),
                mandatory: s.mandatory,
                evidence,
                hint: hint.filter(|_| evidence == Evidence::Value),
            });
        }
        e.into_result()?;
        Ok(TemplateDraft { name: name.unwrap_or_default(), asset_kind, steps })
    }
}

/// The evidence given when ticking a step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    pub value: Option<String>,
    pub has_photo: bool,
}

/// Checks a tick against what the step asks: a value step needs a non-empty value, a photo
/// step a photo. Returns the cleaned value. Errors are on `value` and `photo`.
pub fn check_tick(step: &StepDef, tick: &Tick) -> Result<Option<String>, ValidationErrors> {
    let mut e = ValidationErrors::new();
    let value = clean(tick.value.as_deref());
    check_text(&mut e, "value", value.as_deref(), MAX_VALUE, false);
    match step.evidence {
        Evidence::Value if value.is_none() => e.add("value", "required", "this step needs a value"),
        Evidence::Photo if !tick.has_photo => e.add("photo", "required", "this step needs a photo"),
        _ => {}
    }
    e.into_result()?;
    Ok(value)
}

/// A step of a run as the gating rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepState<'a> {
    pub label: &'a str,
    pub mandatory: bool,
    pub done: bool,
}

/// The indices of the open mandatory steps, in order: the asset may be handed over when empty.
pub fn handover_blockers(steps: &[StepState<'_>]) -> Vec<usize> {
    steps.iter().enumerate().filter(|(_, s)| s.mandatory && !s.done).map(|(i, _)| i).collect()
}

/// Whether a run is complete: no mandatory step open (optional steps may stay open).
pub fn is_complete(steps: &[StepState<'_>]) -> bool {
    handover_blockers(steps).is_empty()
}

/// The refusal of a status change to `in_use` while steps are open, on field `status`.
pub fn handover_refusal(open: &[String]) -> Option<ValidationErrors> {
    if open.is_empty() {
        return None;
    }
    let mut names = open.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if open.len() > 5 {
        names.push_str(&format!(" (+{})", open.len() - 5));
    }
    Some(ValidationErrors::single(
        "status",
        "checklist_open",
        format!("the asset cannot be handed over while mandatory checklist steps are open: {names}"),
    ))
}

/// A text in the two languages of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub fr: &'static str,
    pub en: &'static str,
}

impl Text {
    /// The text in `lang` ("fr" or "en"); French otherwise.
    pub fn get(&self, lang: &str) -> &'static str {
        if lang.eq_ignore_ascii_case("en") {
            self.en
        } else {
            self.fr
        }
    }
}

/// A step of a built-in template.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinStep {
    pub label: Text,
    pub mandatory: bool,
    pub evidence: Evidence,
    pub hint: Option<Text>,
}

/// A template shipped with Parc, usable out of the box in every entity.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Stable key: `mobile_phone`, `time_clock_pc`.
    pub key: &'static str,
    pub name: Text,
    pub asset_kind: Option<AssetKind>,
    pub steps: &'static [BuiltinStep],
}

impl Builtin {
    /// The template in `lang`, as a draft a run copies.
    pub fn draft(&self, lang: &str) -> TemplateDraft {
        TemplateDraft {
            name: self.name.get(lang).to_owned(),
            asset_kind: self.asset_kind,
            steps: self
                .steps
                .iter()
                .map(|s| StepDef {
                    label: s.label.get(lang).to_owned(),
                    mandatory: s.mandatory,
                    evidence: s.evidence,
                    hint: s.hint.map(|h| h.get(lang).to_owned()),
                })
                .collect(),
        }
    }
}

const fn step(fr: &'static str, en: &'static str, mandatory: bool, evidence: Evidence) -> BuiltinStep {
    BuiltinStep { label: Text { fr, en }, mandatory, evidence, hint: None }
}

/// The built-in templates.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        key: "mobile_phone",
        name: Text { fr: "Préparer un téléphone mobile", en: "Prepare a mobile phone" },
        asset_kind: Some(AssetKind::MobilePhone),
        steps: &[
            BuiltinStep {
                label: Text { fr: "Mettre Android à jour", en: "Update Android" },
                mandatory: true,
                evidence: Evidence::Value,
                hint: Some(Text { fr: "Version d'Android", en: "Android version" }),
            },
            step("Retirer les icônes inutiles", "Remove unneeded icons", true, Evidence::Tick),
            step(
                "Mettre le fond d'écran de la collectivité",
                "Set the organisation's wallpaper",
                true,
                Evidence::Photo,
            ),
            step("Poser le verre de protection", "Fit a screen protector", true, Evidence::Photo),
            step("Créer le compte du magasin d'applications", "Create the store account", true, Evidence::Tick),
            step("Configurer la messagerie professionnelle", "Configure the work mailbox", true, Evidence::Tick),
        ],
    },
    Builtin {
        key: "time_clock_pc",
        name: Text { fr: "Préparer un PC pointeuse", en: "Prepare a time-clock PC" },
        asset_kind: Some(AssetKind::Computer),
        steps: &[
            step("Installer la prise en main à distance", "Install remote access", true, Evidence::Tick),
            step(
                "Activer l'ouverture de session automatique",
                "Enable automatic session opening",
                true,
                Evidence::Tick,
            ),
            step("Verrouiller les raccourcis", "Lock the shortcuts", true, Evidence::Tick),
            step("Poser le mot de passe du BIOS", "Set the BIOS password", true, Evidence::Tick),
            step(
                "Programmer l'allumage quotidien à 7 h 00",
                "Schedule the daily power-on at 7:00",
                true,
                Evidence::Tick,
            ),
            BuiltinStep {
                label: Text { fr: "Faire la réservation DHCP", en: "Make the DHCP reservation" },
                mandatory: true,
                evidence: Evidence::Value,
                hint: Some(Text { fr: "Adresse IP réservée", en: "Reserved IP address" }),
            },
        ],
    },
];

/// The built-in template of `key`.
pub fn builtin(key: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(label: &str, mandatory: bool, done: bool) -> StepState<'_> {
        StepState { label, mandatory, done }
    }

    #[test]
    fn gating_table() {
        // (steps, open mandatory labels expected)
        let cases: Vec<(Vec<StepState>, Vec<&str>)> = vec![
            (vec![], vec![]),
            (vec![st("a", true, true), st("b", true, true)], vec![]),
            (vec![st("a", true, false)], vec!["a"]),
            (vec![st("a", false, false), st("b", false, false)], vec![]),
            (vec![st("a", true, true), st("b", false, false), st("c", true, false)], vec!["c"]),
            (vec![st("a", true, false), st("b", true, false)], vec!["a", "b"]),
        ];
        for (steps, open) in cases {
            let labels: Vec<&str> = handover_blockers(&steps).into_iter().map(|i| steps[i].label).collect();
            assert_eq!(labels, open, "{steps:?}");
            assert_eq!(is_complete(&steps), open.is_empty());
        }
    }

    #[test]
    fn refusal_names_the_steps_on_status() {
        assert!(handover_refusal(&[]).is_none());
        let e = handover_refusal(&["Update Android".into(), "Fit a screen protector".into()]).unwrap();
        let f = e.for_field("status").unwrap();
        assert_eq!(f.code, "checklist_open");
        assert!(f.message.contains("Update Android, Fit a screen protector"), "{}", f.message);
        let many: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        assert!(handover_refusal(&many).unwrap().fields[0].message.ends_with("s4 (+3)"));
    }

    #[test]
    fn template_validation() {
        let ok = TemplateInput {
            name: Some("  Préparer  ".into()),
            asset_kind: Some("mobile_phone".into()),
            steps: vec![
                StepInput {
                    label: Some("Mettre à jour".into()),
                    mandatory: true,
                    evidence: Some("value".into()),
                    hint: Some("Version".into()),
                },
                StepInput {
                    label: Some("Coque".into()),
                    mandatory: false,
                    evidence: None,
                    hint: Some("ignored".into()),
                },
            ],
        };
        let d = ok.validate().unwrap();
        assert_eq!(d.name, "Préparer");
        assert_eq!(d.asset_kind, Some(AssetKind::MobilePhone));
        assert_eq!(d.steps[0].hint.as_deref(), Some("Version"));
        assert_eq!(d.steps[1].evidence, Evidence::Tick);
        assert_eq!(d.steps[1].hint, None, "a hint only goes with a value");

        let bad = TemplateInput {
            name: None,
            asset_kind: Some("toaster".into()),
            steps: vec![StepInput { label: Some(" ".into()), evidence: Some("selfie".into()), ..Default::default() }],
        };
        let e = bad.validate().unwrap_err();
        let fields: Vec<(&str, &str)> = e.fields.iter().map(|f| (f.field.as_str(), f.code.as_str())).collect();
        assert_eq!(
            fields,
            vec![
                ("name", "required"),
                ("asset_kind", "invalid_choice"),
                ("steps[0].label", "required"),
                ("steps[0].evidence", "invalid_choice")
            ]
        );
        let empty = TemplateInput { name: Some("x".into()), ..Default::default() };
        assert_eq!(empty.validate().unwrap_err().fields[0].field, "steps");
        let long = TemplateInput {
            name: Some("x".into()),
            steps: vec![StepInput { label: Some("y".into()), ..Default::default() }; MAX_STEPS + 1],
            ..Default::default()
        };
        assert_eq!(long.validate().unwrap_err().fields[0].code, "too_many");
    }

    #[test]
    fn ticks_need_their_evidence() {
        let def = |evidence| StepDef { label: "s".into(), mandatory: true, evidence, hint: None };
        assert_eq!(check_tick(&def(Evidence::Tick), &Tick::default()), Ok(None));
        let e = check_tick(&def(Evidence::Value), &Tick { value: Some("  ".into()), has_photo: false }).unwrap_err();
        assert_eq!((e.fields[0].field.as_str(), e.fields[0].code.as_str()), ("value", "required"));
        assert_eq!(
            check_tick(&def(Evidence::Value), &Tick { value: Some(" 14 ".into()), has_photo: false }),
            Ok(Some("14".into()))
        );
        let e = check_tick(&def(Evidence::Photo), &Tick::default()).unwrap_err();
        assert_eq!(e.fields[0].field, "photo");
        assert!(check_tick(&def(Evidence::Photo), &Tick { value: None, has_photo: true }).is_ok());
    }

    #[test]
    fn builtins_in_both_languages() {
        let phone = builtin("mobile_phone").unwrap();
        assert_eq!(phone.steps.len(), 6);
        assert_eq!(phone.draft("fr").name, "Préparer un téléphone mobile");
        assert_eq!(phone.draft("en").steps[0].hint.as_deref(), Some("Android version"));
        let pc = builtin("time_clock_pc").unwrap().draft("en");
        assert_eq!(pc.steps.len(), 6);
        assert!(pc.steps.iter().any(|s| s.label.contains("7:00")));
        for b in BUILTINS {
            for lang in ["fr", "en"] {
                let d = b.draft(lang);
                // A built-in is a valid template in each language.
                let input = TemplateInput {
                    name: Some(d.name.clone()),
                    asset_kind: d.asset_kind.map(|k| k.as_str().to_owned()),
                    steps: d
                        .steps
                        .iter()
                        .map(|s| StepInput {
                            label: Some(s.label.clone()),
                            mandatory: s.mandatory,
                            evidence: Some(s.evidence.as_str().into()),
                            hint: s.hint.clone(),
                        })
                        .collect(),
                };
                assert_eq!(input.validate().unwrap(), d);
            }
        }
        assert!(builtin("nope").is_none());
    }
}

//! Urgency, impact and priority, and the matrix that derives the priority from the first two.
//!
//! Urgency and impact go from 1 (very low) to 5 (very high). The priority goes from 1 (very
//! low) to 5 (very high), plus 6 ("major"), which only a person sets by hand. The matrix is
//! GLPI's: stored as JSON keyed by urgency then impact, `{"1":{"1":1,...},...,"5":{...}}`.

use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The lowest urgency, impact or priority.
pub const MIN_LEVEL: u8 = 1;
/// The highest urgency or impact (and the highest computed priority of the default matrix).
pub const MAX_LEVEL: u8 = 5;
/// The "major" priority, above every computed one, only set by hand.
pub const MAJOR_PRIORITY: u8 = 6;

/// Whether `v` is a valid urgency or impact (1..=5).
pub fn is_level(v: u8) -> bool {
    (MIN_LEVEL..=MAX_LEVEL).contains(&v)
}

/// Whether `v` is a valid priority (1..=6).
pub fn is_priority(v: u8) -> bool {
    (MIN_LEVEL..=MAJOR_PRIORITY).contains(&v)
}

/// An urgency or impact outside 1..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriorityError {
    #[error("urgency must be between 1 and 5 (got {0})")]
    Urgency(u8),
    #[error("impact must be between 1 and 5 (got {0})")]
    Impact(u8),
}

impl PriorityError {
    /// The input field at fault: `urgency` or `impact`.
    pub fn field(&self) -> &'static str {
        match self {
            PriorityError::Urgency(_) => "urgency",
            PriorityError::Impact(_) => "impact",
        }
    }

    /// Stable error code: `level_range`.
    pub fn code(&self) -> &'static str {
        "level_range"
    }
}

impl From<PriorityError> for ValidationErrors {
    fn from(e: PriorityError) -> Self {
        ValidationErrors::single(e.field(), e.code(), e.to_string())
    }
}

/// The JSON form of the matrix: urgency key -> impact key -> priority. Values are wide
/// integers so that an out-of-range number is reported as a validation error, not a parse one.
type RawMatrix = BTreeMap<String, BTreeMap<String, i64>>;

/// For each (urgency, impact) the priority, 1..=6.
///
/// Serialized (serde) as GLPI's `priority_matrix`: a JSON object keyed `"1"`..`"5"` by urgency,
/// each an object keyed `"1"`..`"5"` by impact whose value is the priority. Deserializing
/// refuses a missing or unknown key and a priority outside 1..=6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RawMatrix", try_from = "RawMatrix")]
pub struct PriorityMatrix {
    /// `cells[urgency - 1][impact - 1]`.
    cells: [[u8; 5]; 5],
}

impl Default for PriorityMatrix {
    fn default() -> Self {
        Self::glpi_default()
    }
}

impl PriorityMatrix {
    /// GLPI's default configuration (`priority_matrix` of its install data).
    pub fn glpi_default() -> Self {
        Self {
            cells: [
                // impact:  1  2  3  4  5
                [1, 1, 2, 2, 2], // urgency 1
                [1, 2, 2, 3, 3], // urgency 2
                [2, 2, 3, 4, 4], // urgency 3
                [2, 3, 4, 4, 5], // urgency 4
                [2, 3, 4, 5, 5], // urgency 5
            ],
        }
    }

    /// A matrix from its cells, `cells[urgency - 1][impact - 1]`, checked with [`Self::validate`].
    pub fn from_cells(cells: [[u8; 5]; 5]) -> Result<Self, ValidationErrors> {
        let m = Self { cells };
        m.validate()?;
        Ok(m)
    }

    /// The cells, `cells[urgency - 1][impact - 1]`.
    pub fn cells(&self) -> &[[u8; 5]; 5] {
        &self.cells
    }

    /// The priority for an urgency and an impact (both 1..=5).
    pub fn priority(&self, urgency: u8, impact: u8) -> Result<u8, PriorityError> {
        if !is_level(urgency) {
            return Err(PriorityError::Urgency(urgency));
        }
        if !is_level(impact) {
            return Err(PriorityError::Impact(impact));
        }
        Ok(self.cells[usize::from(urgency - 1)][usize::from(impact - 1)])
    }

    /// Changes one cell. The priority is not checked here: call [`Self::validate`] afterwards.
    pub fn set(&mut self, urgency: u8, impact: u8, priority: u8) -> Result<(), PriorityError> {
        self.priority(urgency, impact)?;
        self.cells[usize::from(urgency - 1)][usize::from(impact - 1)] = priority;
        Ok(())
    }

    /// Every cell must be a priority 1..=6. Errors are on the field
    /// `priority_matrix.<urgency>.<impact>` with the code `priority_range`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (u, row) in self.cells.iter().enumerate() {
            for (i, &p) in row.iter().enumerate() {
                if !is_priority(p) {
                    errors.add(
                        &format!("priority_matrix.{}.{}", u + 1, i + 1),
                        "priority_range",
                        format!("priority must be between 1 and 6 (got {p})"),
                    );
                }
            }
        }
        errors.into_result()
    }

    /// Parses the stored JSON form. Errors are on the field `priority_matrix` (code
    /// `json_format`, `matrix_key` for an unknown key, `matrix_missing` for a missing cell) or on
    /// `priority_matrix.<urgency>.<impact>` (code `priority_range`).
    pub fn from_json(json: &str) -> Result<Self, ValidationErrors> {
        let raw: RawMatrix = serde_json::from_str(json)
            .map_err(|e| ValidationErrors::single("priority_matrix", "json_format", format!("invalid JSON: {e}")))?;
        Self::from_raw(raw)
    }

    /// The stored JSON form (compact, keys in order).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.into_raw()).unwrap_or_default()
    }

    fn into_raw(self) -> RawMatrix {
        let mut out = RawMatrix::new();
        for (u, row) in self.cells.iter().enumerate() {
            let inner = row.iter().enumerate().map(|(i, &p)| ((i + 1).to_string(), i64::from(p))).collect();
            out.insert((u + 1).to_string(), inner);
        }
        out
    }

    fn from_raw(raw: RawMatrix) -> Result<Self, ValidationErrors> {
        const FIELD: &str = "priority_matrix";
        let mut errors = ValidationErrors::new();
        let level_key = |k: &str| k.parse::<u8>().ok().filter(|v| is_level(*v) && k.len() == 1);
        let mut cells = [[0u8; 5]; 5];
        let mut seen = [[false; 5]; 5];
        for (uk, row) in &raw {
            let Some(u) = level_key(uk) else {
                errors.add(FIELD, "matrix_key", format!("unknown urgency '{}'", truncate(uk)));
                continue;
            };
            for (ik, &p) in row {
                let Some(i) = level_key(ik) else {
                    errors.add(FIELD, "matrix_key", format!("unknown impact '{}' for urgency {u}", truncate(ik)));
                    continue;
                };
                let (ui, ii) = (usize::from(u - 1), usize::from(i - 1));
                seen[ui][ii] = true;
                match u8::try_from(p).ok().filter(|p| is_priority(*p)) {
                    Some(p) => cells[ui][ii] = p,
                    None => errors.add(
                        &format!("{FIELD}.{u}.{i}"),
                        "priority_range",
                        format!("priority must be between 1 and 6 (got {p})"),
                    ),
                }
            }
        }
        for (ui, row) in seen.iter().enumerate() {
            for (ii, &s) in row.iter().enumerate() {
                if !s {
                    errors.add(
                        FIELD,
                        "matrix_missing",
                        format!("missing priority for urgency {} and impact {}", ui + 1, ii + 1),
                    );
                }
            }
        }
        errors.into_result()?;
        Ok(Self { cells })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(20).collect()
}

impl From<PriorityMatrix> for RawMatrix {
    fn from(m: PriorityMatrix) -> Self {
        m.into_raw()
    }
}

impl TryFrom<RawMatrix> for PriorityMatrix {
    type Error = ValidationErrors;
    fn try_from(raw: RawMatrix) -> Result<Self, Self::Error> {
        Self::from_raw(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GLPI's install data, `priority_matrix` (install/empty_data.php), verbatim.
    const GLPI_JSON: &str = r#"{"1":{"1":1,"2":1,"3":2,"4":2,"5":2},"2":{"1":1,"2":2,"3":2,"4":3,"5":3},"3":{"1":2,"2":2,"3":3,"4":4,"5":4},"4":{"1":2,"2":3,"3":4,"4":4,"5":5},"5":{"1":2,"2":3,"3":4,"4":5,"5":5}}"#;

    #[test]
    fn default_is_glpi_install_data() {
        let parsed = PriorityMatrix::from_json(GLPI_JSON).unwrap();
        assert_eq!(parsed, PriorityMatrix::glpi_default());
        assert_eq!(PriorityMatrix::default(), PriorityMatrix::glpi_default());
        assert_eq!(PriorityMatrix::glpi_default().to_json(), GLPI_JSON);
        assert_eq!(serde_json::to_string(&PriorityMatrix::glpi_default()).unwrap(), GLPI_JSON);
        assert!(PriorityMatrix::glpi_default().validate().is_ok());
    }

    #[test]
    fn lookups_are_urgency_then_impact() {
        let m = PriorityMatrix::glpi_default();
        assert_eq!(m.priority(1, 1), Ok(1));
        assert_eq!(m.priority(5, 5), Ok(5));
        assert_eq!(m.priority(3, 3), Ok(3));
        // Asymmetric cells tell the axes apart: urgency 1 / impact 3 = 2, urgency 2 / impact 1 = 1.
        assert_eq!(m.priority(1, 3), Ok(2));
        assert_eq!(m.priority(2, 1), Ok(1));
        assert_eq!(m.priority(3, 5), Ok(4));
        assert_eq!(m.priority(5, 3), Ok(4));
        assert_eq!(m.priority(4, 2), Ok(3));
        assert_eq!(m.priority(5, 1), Ok(2));
    }

    #[test]
    fn out_of_range_inputs_are_errors() {
        let m = PriorityMatrix::glpi_default();
        assert_eq!(m.priority(0, 3), Err(PriorityError::Urgency(0)));
        assert_eq!(m.priority(6, 3), Err(PriorityError::Urgency(6)));
        assert_eq!(m.priority(3, 0), Err(PriorityError::Impact(0)));
        assert_eq!(m.priority(3, 255), Err(PriorityError::Impact(255)));
        let v: ValidationErrors = PriorityError::Impact(9).into();
        assert_eq!(v.for_field("impact").unwrap().code, "level_range");
        assert!(is_level(1) && is_level(5) && !is_level(0) && !is_level(6));
        assert!(is_priority(6) && !is_priority(7) && !is_priority(0));
    }

    #[test]
    fn set_and_validate() {
        let mut m = PriorityMatrix::glpi_default();
        m.set(5, 5, MAJOR_PRIORITY).unwrap();
        assert_eq!(m.priority(5, 5), Ok(6));
        assert!(m.validate().is_ok());
        assert_eq!(m.set(0, 1, 1), Err(PriorityError::Urgency(0)));
        m.set(2, 4, 7).unwrap();
        m.set(1, 1, 0).unwrap();
        let e = m.validate().unwrap_err();
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.for_field("priority_matrix.2.4").unwrap().code, "priority_range");
        assert_eq!(e.for_field("priority_matrix.1.1").unwrap().code, "priority_range");
        assert!(PriorityMatrix::from_cells([[3; 5]; 5]).is_ok());
        assert!(PriorityMatrix::from_cells([[0; 5]; 5]).is_err());
    }

    #[test]
    fn json_round_trip_of_an_edited_matrix() {
        let m = PriorityMatrix::from_cells([[1, 2, 3, 4, 5], [2, 3, 4, 5, 6], [1; 5], [2; 5], [6; 5]]).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<PriorityMatrix>(&json).unwrap(), m);
        assert_eq!(PriorityMatrix::from_json(&m.to_json()).unwrap(), m);
        // Whitespace and key order do not matter.
        let pretty = serde_json::to_string_pretty(&m).unwrap();
        assert_eq!(PriorityMatrix::from_json(&pretty).unwrap(), m);
    }

    #[test]
    fn bad_json_is_reported_per_field() {
        let e = PriorityMatrix::from_json("not json").unwrap_err();
        assert_eq!(e.for_field("priority_matrix").unwrap().code, "json_format");
        let e = PriorityMatrix::from_json(r#"{"1":{"1":"high"}}"#).unwrap_err();
        assert_eq!(e.fields[0].code, "json_format");

        let e = PriorityMatrix::from_json(&GLPI_JSON.replace(r#""4":5,"5":5}}"#, r#""4":5,"5":9}}"#)).unwrap_err();
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.for_field("priority_matrix.5.5").unwrap().code, "priority_range");

        let e = PriorityMatrix::from_json(&GLPI_JSON.replace(r#""3":{"1":2,"#, r#""3":{"1":-1,"#)).unwrap_err();
        assert_eq!(e.for_field("priority_matrix.3.1").unwrap().code, "priority_range");

        let e = PriorityMatrix::from_json(&GLPI_JSON.replace(r#""2":{"1":1,"2":2,"#, r#""2":{"1":1,"#)).unwrap_err();
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.fields[0].code, "matrix_missing");
        assert!(e.fields[0].message.contains("urgency 2 and impact 2"));

        let e = PriorityMatrix::from_json(&GLPI_JSON.replace(r#"{"1":{"1":1,"#, r#"{"6":{},"1":{"1":1,"01":3,"#))
            .unwrap_err();
        assert_eq!(e.fields.iter().filter(|f| f.code == "matrix_key").count(), 2);

        let e = PriorityMatrix::from_json("{}").unwrap_err();
        assert_eq!(e.fields.len(), 25);
        assert!(serde_json::from_str::<PriorityMatrix>("{}").is_err());
    }
}

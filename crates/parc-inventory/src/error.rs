/// Why an agent message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryError {
    #[error("inventory body larger than the {limit}-byte limit once decompressed")]
    TooLarge { limit: usize },
    #[error("malformed inventory: {0}")]
    Malformed(String),
    #[error("unknown agent query or action: {0:?}")]
    UnknownQuery(String),
    #[error("missing mandatory field: {0}")]
    MissingField(&'static str),
}

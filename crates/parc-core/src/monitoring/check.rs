//! What a check runs: a plugin command line or a native check (placeholder, being written).

//! Locations: site > building > room, each within an entity.

use crate::assets::string_enum;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// The level of a location.
    LocationKind {
        Site = "site",
        Building = "building",
        Room = "room",
    }
);

impl LocationKind {
    /// The kind a parent must have; a site has no parent.
    pub fn parent_kind(self) -> Option<LocationKind> {
        match self {
            LocationKind::Site => None,
            LocationKind::Building => Some(LocationKind::Site),
            LocationKind::Room => Some(LocationKind::Building),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy() {
        assert_eq!(LocationKind::Room.parent_kind(), Some(LocationKind::Building));
        assert_eq!(LocationKind::Site.parent_kind(), None);
        assert_eq!("building".parse::<LocationKind>().unwrap(), LocationKind::Building);
        assert!("floor".parse::<LocationKind>().is_err());
    }
}

//! Profiles, rights and entity scoping.
//!
//! A user holds profiles on entities, each optionally recursive to sub-entities. Every read and
//! write asks [`Grants::scope`] for the entities where the action is allowed; an object outside
//! that scope does not exist for the user (the web layer answers 404).

use crate::assets::string_enum;
use crate::entities::EntityTree;
use crate::EntityId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::str::FromStr;

string_enum!(
    /// A set of rights, GLPI-style.
    Profile {
        SuperAdmin = "super_admin",
        Admin = "admin",
        Technician = "technician",
        Hotline = "hotline",
        Observer = "observer",
        Requester = "requester",
    }
);

string_enum!(
    /// What a right is about.
    Object {
        Asset = "asset",
        Location = "location",
        Entity = "entity",
        User = "user",
        Settings = "settings",
        /// Helpdesk tickets, with their follow-ups, tasks and interventions.
        Ticket = "ticket",
        /// Monitored hosts and services, their states, acknowledgements and downtimes.
        Monitoring = "monitoring",
    }
);

string_enum!(
    /// What a right allows.
    Action {
        Read = "read",
        Create = "create",
        Update = "update",
        Delete = "delete",
        RevealSecret = "reveal_secret",
    }
);

impl Profile {
    /// The rights matrix. Settings are global: only a super-admin changes them.
    pub fn allows(self, object: Object, action: Action) -> bool {
        use Action::*;
        use Object::*;
        match self {
            Profile::SuperAdmin => true,
            Profile::Admin => match object {
                Settings => action == Read,
                Asset => true,
                Ticket | Monitoring => action != RevealSecret,
                Location | Entity | User => action != RevealSecret,
            },
            Profile::Technician => match object {
                Asset => true,
                Ticket => matches!(action, Read | Create | Update),
                Location => matches!(action, Read | Create | Update),
                // Technicians set up checks, acknowledge problems and schedule downtimes.
                Monitoring => action != RevealSecret,
                Entity | User | Settings => action == Read,
            },
            Profile::Hotline => match object {
                Asset => matches!(action, Read | Update),
                Ticket => matches!(action, Read | Create | Update),
                Location | Entity | User | Settings | Monitoring => action == Read,
            },
            Profile::Observer => action == Read,
            // A requester reads their own assets and opens and follows their own tickets.
            Profile::Requester => match object {
                Ticket => matches!(action, Read | Create | Update),
                // The status wall is for everyone of the entity, a school principal included.
                Asset | Location | Entity | Monitoring => action == Read,
                User | Settings => false,
            },
        }
    }

    /// A requester only sees the assets assigned to them and the tickets they asked for.
    pub fn own_assets_only(self) -> bool {
        self == Profile::Requester
    }

    /// Whether this profile's rights on `object` only reach the user's own objects.
    pub fn own_only_on(self, object: Object) -> bool {
        self.own_assets_only() && matches!(object, Object::Asset | Object::Ticket)
    }

    /// Rank used to stop an admin from granting more than they hold.
    pub fn rank(self) -> u8 {
        match self {
            Profile::SuperAdmin => 5,
            Profile::Admin => 4,
            Profile::Technician => 3,
            Profile::Hotline => 2,
            Profile::Observer => 1,
            Profile::Requester => 0,
        }
    }
}

/// One profile held on one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    pub entity_id: EntityId,
    pub profile: Profile,
    pub recursive: bool,
}

/// Where an action is allowed: on every object of `full` entities, and only on the user's own
/// objects in `own_only` entities (requesters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub full: BTreeSet<EntityId>,
    pub own_only: BTreeSet<EntityId>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.full.is_empty() && self.own_only.is_empty()
    }

    /// Whether an object of `entity` (assigned to the user when `is_own`) is in scope.
    pub fn admits(&self, entity: EntityId, is_own: bool) -> bool {
        self.full.contains(&entity) || (is_own && self.own_only.contains(&entity))
    }
}

/// Everything a user holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(pub Vec<Grant>);

impl Grants {
    pub fn is_super_admin(&self) -> bool {
        self.0.iter().any(|g| g.profile == Profile::SuperAdmin)
    }

    /// The entities a grant covers.
    fn covered(tree: &EntityTree, g: &Grant) -> Vec<EntityId> {
        if !tree.contains(g.entity_id) {
            return Vec::new();
        }
        if g.recursive {
            tree.subtree(g.entity_id)
        } else {
            vec![g.entity_id]
        }
    }

    /// The entities where `action` on `object` is allowed.
    pub fn scope(&self, tree: &EntityTree, object: Object, action: Action) -> Scope {
        let mut s = Scope::default();
        for g in &self.0 {
            if !g.profile.allows(object, action) {
                continue;
            }
            let own = g.profile.own_only_on(object);
            for e in Self::covered(tree, g) {
                if own {
                    s.own_only.insert(e);
                } else {
                    s.full.insert(e);
                }
            }
        }
        // A full right wins over an own-only one on the same entity.
        let full = s.full.clone();
        s.own_only.retain(|e| !full.contains(e));
        s
    }

    /// Whether `action` on `object` is allowed somewhere (menus, global pages).
    pub fn can_anywhere(&self, object: Object, action: Action) -> bool {
        self.0.iter().any(|g| g.profile.allows(object, action))
    }

    /// Whether `action` on an object of `entity` is allowed (own objects not considered).
    pub fn can(&self, tree: &EntityTree, object: Object, action: Action, entity: EntityId) -> bool {
        self.0.iter().any(|g| {
            g.profile.allows(object, action)
                && !g.profile.own_only_on(object)
                && (g.entity_id == entity || (g.recursive && tree.is_within(entity, g.entity_id)))
        })
    }

    /// The highest profile held on `entity` (through recursion too).
    pub fn best_on(&self, tree: &EntityTree, entity: EntityId) -> Option<Profile> {
        self.0
            .iter()
            .filter(|g| g.entity_id == entity || (g.recursive && tree.is_within(entity, g.entity_id)))
            .map(|g| g.profile)
            .max_by_key(|p| p.rank())
    }

    /// Whether this user may give `grant` to someone: they manage users on that entity and
    /// hold at least that profile there (only a super-admin makes super-admins).
    pub fn may_grant(&self, tree: &EntityTree, grant: &Grant) -> bool {
        if grant.profile == Profile::SuperAdmin {
            return self.is_super_admin();
        }
        if !self.can(tree, Object::User, Action::Update, grant.entity_id) {
            return false;
        }
        let best = self.best_on(tree, grant.entity_id).map(Profile::rank).unwrap_or(0);
        if best < grant.profile.rank() {
            return false;
        }
        // A recursive grant must stay within what the granter covers recursively.
        !grant.recursive
            || tree.subtree(grant.entity_id).into_iter().all(|e| self.can(tree, Object::User, Action::Update, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> EntityTree {
        EntityTree::new([
            (EntityId(1), None),
            (EntityId(2), Some(EntityId(1))),
            (EntityId(3), Some(EntityId(1))),
            (EntityId(4), Some(EntityId(2))),
        ])
    }

    fn g(e: i64, p: Profile, r: bool) -> Grant {
        Grant { entity_id: EntityId(e), profile: p, recursive: r }
    }

    #[test]
    fn recursive_grants_cover_the_subtree() {
        let t = tree();
        let gs = Grants(vec![g(2, Profile::Technician, true)]);
        let s = gs.scope(&t, Object::Asset, Action::Update);
        assert_eq!(s.full.iter().map(|e| e.0).collect::<Vec<_>>(), vec![2, 4]);
        let flat = Grants(vec![g(2, Profile::Technician, false)]);
        assert_eq!(flat.scope(&t, Object::Asset, Action::Update).full.len(), 1);
    }

    #[test]
    fn profiles_differ() {
        let t = tree();
        let obs = Grants(vec![g(1, Profile::Observer, true)]);
        assert_eq!(obs.scope(&t, Object::Asset, Action::Read).full.len(), 4);
        assert!(obs.scope(&t, Object::Asset, Action::Update).is_empty());
        assert!(obs.scope(&t, Object::Asset, Action::RevealSecret).is_empty());
        let req = Grants(vec![g(3, Profile::Requester, false)]);
        let s = req.scope(&t, Object::Asset, Action::Read);
        assert!(s.full.is_empty());
        assert!(s.admits(EntityId(3), true));
        assert!(!s.admits(EntityId(3), false));
        let hot = Grants(vec![g(1, Profile::Hotline, true)]);
        assert!(hot.scope(&t, Object::Asset, Action::RevealSecret).is_empty());
        assert!(!Profile::Admin.allows(Object::Settings, Action::Update));
        assert!(Profile::SuperAdmin.allows(Object::Settings, Action::Update));
    }

    #[test]
    fn full_right_beats_own_only() {
        let t = tree();
        let gs = Grants(vec![g(2, Profile::Requester, false), g(2, Profile::Observer, false)]);
        let s = gs.scope(&t, Object::Asset, Action::Read);
        assert!(s.own_only.is_empty());
        assert!(s.admits(EntityId(2), false));
    }

    #[test]
    fn granting_rules() {
        let t = tree();
        let admin = Grants(vec![g(2, Profile::Admin, true)]);
        assert!(admin.may_grant(&t, &g(4, Profile::Technician, false)));
        assert!(admin.may_grant(&t, &g(2, Profile::Admin, true)));
        assert!(!admin.may_grant(&t, &g(3, Profile::Technician, false)));
        assert!(!admin.may_grant(&t, &g(2, Profile::SuperAdmin, false)));
        let tech = Grants(vec![g(1, Profile::Technician, true)]);
        assert!(!tech.may_grant(&t, &g(2, Profile::Observer, false)));
        let sa = Grants(vec![g(1, Profile::SuperAdmin, true)]);
        assert!(sa.may_grant(&t, &g(1, Profile::SuperAdmin, true)));
    }

    #[test]
    fn unknown_entities_are_ignored() {
        let t = tree();
        let gs = Grants(vec![g(99, Profile::Admin, true)]);
        assert!(gs.scope(&t, Object::Asset, Action::Read).is_empty());
    }
}

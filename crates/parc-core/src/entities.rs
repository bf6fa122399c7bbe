//! The entity tree: a county council and its schools, a town hall and its services.

use crate::EntityId;
use std::collections::{HashMap, HashSet};

/// The parent links of every entity, enough to answer subtree questions without I/O.
#[derive(Debug, Clone, Default)]
pub struct EntityTree {
    parent: HashMap<EntityId, Option<EntityId>>,
    children: HashMap<EntityId, Vec<EntityId>>,
}

impl EntityTree {
    pub fn new(links: impl IntoIterator<Item = (EntityId, Option<EntityId>)>) -> Self {
        let mut t = EntityTree::default();
        for (id, parent) in links {
            t.parent.insert(id, parent);
            if let Some(p) = parent {
                t.children.entry(p).or_default().push(id);
            }
        }
        t
    }

    pub fn contains(&self, id: EntityId) -> bool {
        self.parent.contains_key(&id)
    }

    pub fn parent(&self, id: EntityId) -> Option<EntityId> {
        self.parent.get(&id).copied().flatten()
    }

    pub fn children(&self, id: EntityId) -> &[EntityId] {
        self.children.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `id` and everything below it.
    pub fn subtree(&self, id: EntityId) -> Vec<EntityId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        let mut seen = HashSet::new();
        while let Some(e) = stack.pop() {
            if !seen.insert(e) {
                continue;
            }
            out.push(e);
            stack.extend(self.children(e).iter().copied());
        }
        out
    }

    /// The chain from the root down to `id` (inclusive).
    pub fn path(&self, id: EntityId) -> Vec<EntityId> {
        let mut out = vec![id];
        let mut cur = id;
        while let Some(p) = self.parent(cur) {
            if out.contains(&p) {
                break; // defensive: a cycle never loops forever
            }
            out.push(p);
            cur = p;
        }
        out.reverse();
        out
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_within(&self, id: EntityId, ancestor: EntityId) -> bool {
        self.path(id).contains(&ancestor)
    }

    /// Whether making `new_parent` the parent of `id` would create a cycle.
    pub fn would_cycle(&self, id: EntityId, new_parent: EntityId) -> bool {
        self.is_within(new_parent, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> EntityTree {
        // 1 county > 2 school A, 3 school B; 4 town hall > 5 service
        EntityTree::new([
            (EntityId(1), None),
            (EntityId(2), Some(EntityId(1))),
            (EntityId(3), Some(EntityId(1))),
            (EntityId(4), None),
            (EntityId(5), Some(EntityId(4))),
        ])
    }

    #[test]
    fn subtree_and_path() {
        let t = tree();
        let mut s = t.subtree(EntityId(1));
        s.sort();
        assert_eq!(s, vec![EntityId(1), EntityId(2), EntityId(3)]);
        assert_eq!(t.path(EntityId(3)), vec![EntityId(1), EntityId(3)]);
        assert!(t.is_within(EntityId(5), EntityId(4)));
        assert!(!t.is_within(EntityId(5), EntityId(1)));
        assert!(t.would_cycle(EntityId(1), EntityId(2)));
        assert!(!t.would_cycle(EntityId(2), EntityId(3)));
    }
}

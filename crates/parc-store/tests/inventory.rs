//! Agent inventory storage: matching, grouped history, hand-kept fields, monitors, entity rules,
//! the software catalogue — on SQLite and (when reachable) PostgreSQL — plus property tests of
//! matching over generated fleets.

mod common;

use common::{actor, entity};
use parc_core::assets::AssetKind;
use parc_core::audit::ObjectType;
use parc_core::permissions::Scope;
use parc_core::{AssetId, EntityId, UserId};
use parc_inventory::{Disk, Inventory, Monitor, NetworkCard, Software};
use parc_store::inventory::{self, EntityRuleKind, ImportSource, InventorySettings, MatchRule};
use parc_store::testing::TestDb;
use parc_store::{assets, audit, Store};
use proptest::prelude::*;

fn software(n: usize) -> Vec<Software> {
    (0..n)
        .map(|i| Software {
            name: format!("App {i}"),
            version: Some(format!("1.{i}")),
            publisher: Some(if i % 2 == 0 { "Contoso".into() } else { "Fabrikam".into() }),
            install_date: Some("2026-01-02".into()),
        })
        .collect()
}

fn pc(name: &str, device: &str, uuid: &str, serial: &str, mac: &str) -> Inventory {
    Inventory {
        device_id: device.into(),
        name: Some(name.into()),
        uuid: Some(uuid.into()),
        serial: Some(serial.into()),
        manufacturer: Some("Dell Inc.".into()),
        model: Some("OptiPlex 7010".into()),
        os_name: Some("Debian GNU/Linux".into()),
        os_version: Some("12".into()),
        memory_mb: Some(8192),
        networks: vec![
            NetworkCard {
                description: Some("eth0".into()),
                mac: Some(mac.into()),
                ips: vec!["192.168.207.12".into()],
                ..Default::default()
            },
            NetworkCard {
                description: Some("docker0".into()),
                mac: Some("02:42:00:00:00:01".into()),
                ips: vec!["172.17.0.1".into()],
                r#virtual: true,
                ..Default::default()
            },
        ],
        disks: vec![Disk {
            model: Some("SSD 860".into()),
            serial: Some("D1".into()),
            size_mb: Some(476940),
            ..Default::default()
        }],
        software: software(30),
        ..Default::default()
    }
}

async fn import(store: &Store, inv: &Inventory, ip: &str) -> inventory::ImportOutcome {
    let mut tx = store.write().await.unwrap();
    let config = inventory::import_config(&mut tx).await.unwrap();
    let src = ImportSource { source_ip: Some(ip.into()), agent: Some("test-agent".into()) };
    let out = inventory::import(&mut tx, store.cipher(), &config, inv, &src).await.unwrap();
    tx.commit().await.unwrap();
    out
}

async fn machine_count(store: &Store) -> i64 {
    let mut c = store.read().await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM assets WHERE kind IN ('computer', 'server')")
        .fetch_one(&mut *c)
        .await
        .unwrap();
    n
}

fn all_scope(ids: &[EntityId]) -> Scope {
    Scope { full: ids.iter().copied().collect(), own_only: Default::default() }
}

#[tokio::test]
async fn inventory_story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
    }
}

async fn story(store: &Store) {
    let root = entity(store, "Département", None).await;
    let college = entity(store, "Collège Jean Moulin", Some(root)).await;
    let vlan207 = entity(store, "Service urbanisme", Some(root)).await;
    {
        let mut tx = store.write().await.unwrap();
        inventory::add_entity_rule(&mut tx, &actor(), EntityRuleKind::Tag, "COLLEGE-JM", college).await.unwrap();
        inventory::add_entity_rule(&mut tx, &actor(), EntityRuleKind::Subnet, "192.168.207.0/24", vlan207)
            .await
            .unwrap();
        let bad = inventory::add_entity_rule(&mut tx, &actor(), EntityRuleKind::Subnet, "192.168.300.0/24", root).await;
        assert!(bad.is_err(), "an invalid subnet is refused");
        tx.commit().await.unwrap();
    }

    // A new machine from VLAN 207 lands in its service; its monitor becomes a linked asset.
    let mut a = pc(
        "PC-URBA-01",
        "pc-urba-01-2026-01-01-10-00-00",
        "4C4C4544-0031-3010-8052-B7C04F4B4E31",
        "7XK2F3J",
        "00:1a:2b:3c:4d:5e",
    );
    a.monitors = vec![Monitor {
        manufacturer: Some("Dell".into()),
        model: Some("P2419H".into()),
        serial: Some("CN-0ABC123".into()),
    }];
    let first = import(store, &a, "192.168.207.12").await;
    assert!(first.created);
    assert_eq!(first.matched_rule, None);
    let asset = assets::get(&mut store.read().await.unwrap(), first.asset_id).await.unwrap().unwrap();
    assert_eq!(asset.entity_id, vlan207);
    assert_eq!(asset.kind, AssetKind::Computer);
    assert_eq!(asset.serial.as_deref(), Some("7XK2F3J"));
    assert_eq!(asset.mac.as_deref(), Some("00:1a:2b:3c:4d:5e"), "the MAC of the physical card, not docker0");
    let links = assets::links_of(&mut store.read().await.unwrap(), first.asset_id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].from_kind, AssetKind::Monitor);
    let details = inventory::computer(&mut store.read().await.unwrap(), first.asset_id).await.unwrap().unwrap();
    assert_eq!(details.software.len(), 30);
    assert_eq!(details.networks.len(), 2);
    assert_eq!(details.memory_mb, Some(8192));
    assert_eq!(details.disks.len(), 1);

    // A technician edits the hand-kept fields.
    {
        let mut tx = store.write().await.unwrap();
        let old = assets::get(&mut tx, first.asset_id).await.unwrap().unwrap();
        let mut d = old.to_draft();
        d.asset_tag = Some("INV-0042".into());
        d.status = parc_core::assets::AssetStatus::InRepair;
        d.comment = Some("écran rayé".into());
        assets::update(&mut tx, &actor(), store.cipher(), &old, &d).await.unwrap();
        tx.commit().await.unwrap();
    }

    // The same inventory again: nothing changes, nothing recorded but the import.
    let again = import(store, &a, "192.168.207.12").await;
    assert!(!again.created);
    assert_eq!(again.asset_id, first.asset_id);
    assert_eq!(again.changes, 0);

    // Agent reinstalled (new DEVICEID), one software upgraded, one removed, one installed, RAM
    // doubled, disk swapped, new IP, and the machine renamed: same asset, one grouped history entry.
    let mut b = a.clone();
    b.device_id = "pc-urba-01-2026-06-01-08-00-00".into();
    b.name = Some("PC-URBA-01B".into());
    b.software[0].version = Some("2.0".into());
    b.software.remove(1);
    b.software.push(Software {
        name: "Firefox ESR".into(),
        version: Some("128.5".into()),
        publisher: Some("Mozilla".into()),
        install_date: None,
    });
    b.memory_mb = Some(16384);
    b.disks[0] =
        Disk { model: Some("SSD 990".into()), serial: Some("D2".into()), size_mb: Some(953869), ..Default::default() };
    b.networks[0].ips = vec!["192.168.207.99".into()];
    let before = audit::for_object(&mut store.read().await.unwrap(), ObjectType::Asset, first.asset_id.0, 100)
        .await
        .unwrap()
        .len();
    let upd = import(store, &b, "10.9.9.9").await;
    assert_eq!(upd.asset_id, first.asset_id);
    assert_eq!(upd.matched_rule, Some(MatchRule::Uuid));
    assert_eq!(machine_count(store).await, 1);
    let hist =
        audit::for_object(&mut store.read().await.unwrap(), ObjectType::Asset, first.asset_id.0, 100).await.unwrap();
    assert_eq!(hist.len(), before + 1, "one grouped entry per inventory");
    let e = &hist[0];
    assert_eq!(e.action, "inventory");
    let has = |field: &str, old: Option<&str>, new: Option<&str>| {
        e.changes.iter().any(|c| c.field == field && c.old.as_deref() == old && c.new.as_deref() == new)
    };
    assert!(has("software", Some("App 0 1.0"), Some("App 0 2.0")), "{:?}", e.changes);
    assert!(has("software", Some("App 1 1.1"), None));
    assert!(has("software", None, Some("Firefox ESR 128.5")));
    assert!(has("memory_mb", Some("8192"), Some("16384")));
    assert!(has("ip", Some("192.168.207.12"), Some("192.168.207.99")));
    assert!(has("name", Some("PC-URBA-01"), Some("PC-URBA-01B")));
    assert!(e.changes.iter().any(|c| c.field == "disk"));
    let asset = assets::get(&mut store.read().await.unwrap(), first.asset_id).await.unwrap().unwrap();
    assert_eq!(asset.asset_tag.as_deref(), Some("INV-0042"), "hand-kept fields are never overwritten");
    assert_eq!(asset.status, parc_core::assets::AssetStatus::InRepair);
    assert_eq!(asset.comment.as_deref(), Some("écran rayé"));
    assert_eq!(asset.entity_id, vlan207, "the entity rule applies to new machines only");
    assert_eq!(asset.ip.as_deref(), Some("192.168.207.99"));

    // The catalogue counts installations per version.
    let scope = all_scope(&[root, college, vlan207]);
    let mut c = store.read().await.unwrap();
    let page = inventory::software_page(&mut c, &scope, UserId(0), Some("app 0"), 1, 50).await.unwrap();
    assert_eq!(page.total, 1);
    let sw = &page.items[0];
    assert_eq!((sw.versions, sw.installs), (1, 1));
    let detail = inventory::software_detail(&mut c, &scope, UserId(0), sw.id, 100).await.unwrap().unwrap();
    assert_eq!(detail.versions[0].version, "2.0");
    assert_eq!(detail.installations[0].asset_id, first.asset_id.0);
    let other_scope = all_scope(&[college]);
    assert!(inventory::software_detail(&mut c, &other_scope, UserId(0), sw.id, 100).await.unwrap().is_none());
    drop(c);

    // Tagged machine goes to the college; the monitor moves there when plugged in.
    let mut t =
        pc("CDI-01", "cdi-01-x", "11111111-2222-3333-4444-555555555555", "To be filled by O.E.M.", "00:1a:2b:3c:4d:60");
    t.tag = Some("college-jm".into());
    t.monitors = a.monitors.clone();
    let tagged = import(store, &t, "10.1.1.1").await;
    assert!(tagged.created);
    let ta = assets::get(&mut store.read().await.unwrap(), tagged.asset_id).await.unwrap().unwrap();
    assert_eq!(ta.entity_id, college);
    assert_eq!(ta.serial, None, "a junk serial is not stored");
    let mut c = store.read().await.unwrap();
    let (monitors,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM assets WHERE kind = 'monitor'").fetch_one(&mut *c).await.unwrap();
    assert_eq!(monitors, 1, "the monitor is found again by its serial");
    let links = assets::links_of(&mut c, tagged.asset_id).await.unwrap();
    assert_eq!(links.len(), 1, "the monitor now hangs on the second computer");
    assert!(assets::links_of(&mut c, first.asset_id).await.unwrap().is_empty());
    drop(c);

    // Two VMs cloned from one template: same serial, different UUIDs, different MACs.
    let vm1 = pc("VM-1", "vm1", "aaaaaaaa-0000-0000-0000-000000000001", "VMware-42 1a", "00:50:56:00:00:01");
    let vm2 = pc("VM-2", "vm2", "aaaaaaaa-0000-0000-0000-000000000002", "VMware-42 1a", "00:50:56:00:00:02");
    let r1 = import(store, &vm1, "10.0.0.1").await;
    let r2 = import(store, &vm2, "10.0.0.2").await;
    assert!(r1.created && r2.created);
    assert_ne!(r1.asset_id, r2.asset_id);

    // A machine registered by hand with its serial is completed by the agent, not duplicated.
    let hand = {
        let mut tx = store.write().await.unwrap();
        let input = parc_core::assets::AssetInput {
            kind: Some("computer".into()),
            entity_id: Some(college.0),
            name: Some("Poste direction".into()),
            serial: Some("HAND-123".into()),
            asset_tag: Some("CJM-001".into()),
            ..Default::default()
        };
        let d = input.validate(None).unwrap();
        let id = assets::create(&mut tx, &actor(), store.cipher(), &d).await.unwrap();
        tx.commit().await.unwrap();
        id
    };
    let h = import(
        store,
        &pc("DIRECTION-PC", "dir", "bbbbbbbb-0000-0000-0000-000000000001", "HAND-123", "00:1a:2b:3c:4d:70"),
        "10.0.0.3",
    )
    .await;
    assert_eq!(h.asset_id, hand);
    assert_eq!(h.matched_rule, Some(MatchRule::Serial));

    // Settings: rule order is configurable and validated.
    {
        let mut tx = store.write().await.unwrap();
        let mut s = InventorySettings { match_rules: vec![MatchRule::Mac, MatchRule::Name], ..Default::default() };
        inventory::put_settings(&mut tx, &actor(), &s).await.unwrap();
        s.match_rules = vec![MatchRule::Mac, MatchRule::Mac];
        assert!(inventory::put_settings(&mut tx, &actor(), &s).await.is_err());
        s.match_rules = vec![MatchRule::Uuid];
        s.stale_days = 0;
        assert!(inventory::put_settings(&mut tx, &actor(), &s).await.is_err());
        tx.commit().await.unwrap();
        let got = inventory::settings(&mut store.read().await.unwrap()).await.unwrap();
        assert_eq!(got.match_rules, vec![MatchRule::Mac, MatchRule::Name]);
    }

    // A rejection is logged in its own transaction; the agents list shows who reported.
    {
        let mut tx = store.write().await.unwrap();
        let src = ImportSource { source_ip: Some("10.6.6.6".into()), agent: None };
        inventory::record_rejection(&mut tx, &src, None, None, "the inventory has no DEVICEID").await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut c = store.read().await.unwrap();
    let rejected = inventory::imports(&mut c, true, &[], 10).await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].error.as_deref(), Some("the inventory has no DEVICEID"));
    let agents = inventory::agents(&mut c, &scope, UserId(0), None, 1, 50).await.unwrap();
    assert_eq!(agents.total, 5);
    let stale = inventory::agents(&mut c, &scope, UserId(0), Some("2000-01-01T00:00:00Z"), 1, 50).await.unwrap();
    assert_eq!(stale.total, 0);
    let st = inventory::stats(&mut c).await.unwrap();
    assert_eq!(st.computers, 5);
    assert!(st.installs >= 150);
    let accepted = inventory::imports(&mut c, false, &[vlan207.0], 10).await.unwrap();
    assert_eq!(
        accepted.len(),
        5,
        "VMs carry a 192.168.207.x address: the subnet rule also looks at the machine's own IPs"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests: generated fleets, each machine re-inventoried after random life events, must
// always land on the same asset, and never create a duplicate.

#[derive(Debug, Clone)]
struct Machine {
    uuid: Option<String>,
    serial: String,
    mac: String,
    name: String,
    device: String,
}

#[derive(Debug, Clone)]
enum Event {
    Reinventory(usize),
    Reinstall(usize),
    Rename(usize),
    SwapDisk(usize),
}

fn fleet() -> impl Strategy<Value = (Vec<Machine>, Vec<Event>)> {
    (2usize..7).prop_flat_map(|n| {
        let machines = prop::collection::vec((any::<bool>(), 0u8..4), n).prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (real_uuid, serial_kind))| {
                    let uuid = real_uuid.then(|| format!("c0ffee00-0000-0000-0000-{i:012}"));
                    let serial = match serial_kind {
                        0 => format!("SN{i:05}"),
                        1 => "To be filled by O.E.M.".into(),
                        2 => "0".into(),
                        // Shared by every machine of this kind: the cloned-VM case. Only safe to
                        // tell apart when the UUID is real; otherwise it is junk for us too.
                        _ if real_uuid => "VMware-shared".into(),
                        _ => "System Serial Number".into(),
                    };
                    Machine {
                        uuid,
                        serial,
                        mac: format!("00:16:3e:00:{:02x}:{:02x}", i / 256, i % 256),
                        name: format!("PC-{i:03}"),
                        device: format!("pc-{i}-first"),
                    }
                })
                .collect::<Vec<_>>()
        });
        let events = prop::collection::vec(
            (0usize..n, 0u8..4).prop_map(|(i, k)| match k {
                0 => Event::Reinventory(i),
                1 => Event::Reinstall(i),
                2 => Event::Rename(i),
                _ => Event::SwapDisk(i),
            }),
            1..12,
        );
        (machines, events)
    })
}

fn inventory_of(m: &Machine, disk: u32) -> Inventory {
    let mut inv =
        pc(&m.name, &m.device, m.uuid.as_deref().unwrap_or("00000000-0000-0000-0000-000000000000"), &m.serial, &m.mac);
    inv.software = software(5);
    inv.disks[0].serial = Some(format!("DISK-{disk}"));
    inv
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn fleets_never_duplicate((mut machines, events) in fleet()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let db = TestDb::sqlite().await;
            let store = &db.store;
            entity(store, "Racine", None).await;
            let mut ids: Vec<AssetId> = Vec::new();
            for m in &machines {
                let out = import(store, &inventory_of(m, 0), "10.0.0.1").await;
                assert!(out.created, "{m:?} matched an existing machine through {:?}", out.matched_rule);
                ids.push(out.asset_id);
            }
            let mut disk = 1;
            for (step, ev) in events.iter().enumerate() {
                let i = match ev {
                    Event::Reinventory(i) => *i,
                    Event::Reinstall(i) => {
                        machines[*i].device = format!("pc-{i}-re{step}");
                        *i
                    }
                    Event::Rename(i) => {
                        machines[*i].name = format!("RENAMED-{i}-{step}");
                        *i
                    }
                    Event::SwapDisk(i) => {
                        disk += 1;
                        *i
                    }
                };
                let out = import(store, &inventory_of(&machines[i], disk), "10.0.0.1").await;
                assert!(!out.created, "event {ev:?} created a duplicate of {:?}", machines[i]);
                assert_eq!(out.asset_id, ids[i], "event {ev:?} landed on another machine");
            }
            assert_eq!(machine_count(store).await, machines.len() as i64);
        });
    }
}

//! The helpdesk story on every backend: a call opens a ticket with its priority and SLA
//! deadlines, a technician takes it, pauses it, solves it; the requester refuses, then accepts
//! and rates; scope keeps other entities' tickets out of sight; a failed write changes nothing.

mod common;

use chrono::{DateTime, Utc};
use common::{actor, entity};
use parc_core::assets::AssetInput;
use parc_core::audit::ObjectType;
use parc_core::helpdesk::{SlaFlag, TicketStatus};
use parc_core::permissions::{Profile, Scope};
use parc_core::{EntityId, UserId};
use parc_store::helpdesk::{self, CategoryInput, GroupInput, TaskInput, TicketInput, TicketQuery};
use parc_store::testing::TestDb;
use parc_store::users::UserInput;
use parc_store::{assets, audit, entities, Store, StoreError};

async fn user(store: &Store, login: &str, entity: EntityId, profile: Profile) -> UserId {
    let input = UserInput {
        login: Some(login.into()),
        display_name: Some(format!("{login} display")),
        email: Some(format!("{login}@example.org")),
        phone: Some("0102030405".into()),
        entity_id: Some(entity.0),
        ..Default::default()
    };
    common::user(store, &input, Some(profile)).await
}

fn scope(ids: &[EntityId]) -> Scope {
    Scope { full: ids.iter().copied().collect(), own_only: Default::default() }
}

fn time(s: &Option<String>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s.as_deref().unwrap()).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn helpdesk_story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
    }
}

async fn story(store: &Store) {
    let root = entity(store, "Mairie", None).await;
    let school = entity(store, "École Jules Ferry", Some(root)).await;
    let other = entity(store, "Médiathèque", Some(root)).await;
    let tech = user(store, "tech", root, Profile::Technician).await;
    let caller = user(store, "caller", school, Profile::Requester).await;
    let outsider = user(store, "outsider", other, Profile::Requester).await;

    let (tree, cfg) = {
        let mut c = store.read().await.unwrap();
        (entities::tree(&mut c).await.unwrap(), helpdesk::config(&mut c).await.unwrap())
    };

    // Catalogue: a category tree and a group.
    let (cat, group) = {
        let mut tx = store.write().await.unwrap();
        let tel = helpdesk::create_category(
            &mut tx,
            &actor(),
            &CategoryInput { entity_id: Some(root.0), name: Some("Téléphonie".into()), ..Default::default() },
        )
        .await
        .unwrap();
        let fixe = helpdesk::create_category(
            &mut tx,
            &actor(),
            &CategoryInput {
                entity_id: Some(root.0),
                parent_id: Some(tel.id.0),
                name: Some("Poste fixe".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(fixe.path, "Téléphonie > Poste fixe");
        tx.commit().await.unwrap();
        // A failed statement spoils its transaction on PostgreSQL: the refusal gets its own.
        let mut tx = store.write().await.unwrap();
        let dup = helpdesk::create_category(
            &mut tx,
            &actor(),
            &CategoryInput { entity_id: Some(root.0), name: Some("téléphonie".into()), ..Default::default() },
        )
        .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        drop(tx);
        let mut tx = store.write().await.unwrap();
        let g = helpdesk::create_group(
            &mut tx,
            &actor(),
            &GroupInput {
                entity_id: Some(root.0),
                name: Some("Support N1".into()),
                member_ids: Some(vec![tech.0]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(g.members.len(), 1);
        tx.commit().await.unwrap();
        (fixe, g)
    };
    let pc = {
        let mut tx = store.write().await.unwrap();
        let input = AssetInput {
            kind: Some("computer".into()),
            entity_id: Some(school.0),
            name: Some("PC-DIRECTION".into()),
            asset_tag: Some("GPI-1".into()),
            ..Default::default()
        };
        let id = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
        let foreign = AssetInput {
            kind: Some("computer".into()),
            entity_id: Some(other.0),
            name: Some("PC-MEDIA".into()),
            ..Default::default()
        };
        let fid = assets::create(&mut tx, &actor(), store.cipher(), &foreign.validate(None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        (id, fid)
    };

    // Bad input: nothing written.
    {
        let mut tx = store.write().await.unwrap();
        let empty = helpdesk::create(
            &mut tx,
            &actor(),
            &cfg,
            &tree,
            &TicketInput {
                entity_id: Some(school.0),
                title: Some("  ".into()),
                requester_name: Some("X".into()),
                ..Default::default()
            },
        )
        .await;
        let Err(StoreError::Validation(v)) = empty else { panic!("{empty:?}") };
        assert!(v.for_field("title").is_some());
        let foreign = helpdesk::create(
            &mut tx,
            &actor(),
            &cfg,
            &tree,
            &TicketInput {
                entity_id: Some(school.0),
                title: Some("Écran".into()),
                requester_user_id: Some(caller.0),
                asset_ids: Some(vec![pc.1 .0]),
                ..Default::default()
            },
        )
        .await;
        let Err(StoreError::Validation(v)) = foreign else { panic!("{foreign:?}") };
        assert_eq!(v.for_field("asset_ids").unwrap().code, "foreign_entity");
        let bad = helpdesk::create(
            &mut tx,
            &actor(),
            &cfg,
            &tree,
            &TicketInput {
                entity_id: Some(school.0),
                title: Some("a".into()),
                requester_name: Some("X".into()),
                urgency: Some(9),
                ..Default::default()
            },
        )
        .await;
        assert!(matches!(bad, Err(StoreError::Validation(_))));
    }

    // The hotline opens a ticket for a caller: priority from GLPI's matrix (urgency 4, impact 3 -> 4).
    let t = {
        let mut tx = store.write().await.unwrap();
        let t = helpdesk::create(
            &mut tx,
            &actor(),
            &cfg,
            &tree,
            &TicketInput {
                entity_id: Some(school.0),
                title: Some("Le téléphone de la direction ne sonne plus".into()),
                description: Some("Depuis ce matin.".into()),
                requester_user_id: Some(caller.0),
                category_id: Some(cat.id.0),
                urgency: Some(4),
                impact: Some(3),
                asset_ids: Some(vec![pc.0 .0]),
                source: Some("hotline".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        t
    };
    assert_eq!(t.status, TicketStatus::New);
    assert_eq!(t.priority, 4);
    assert_eq!(t.requester_label.as_deref(), Some("caller display"));
    assert_eq!(t.category_name.as_deref(), Some("Poste fixe"));
    assert!(t.own_due_at.is_some() && t.resolve_due_at.is_some());
    assert!(time(&t.resolve_due_at) > time(&t.own_due_at));
    assert_eq!(t.sla, SlaFlag::Ok);

    // Assigning moves it to "assigned" and owns it; a requester cannot be assigned.
    let t = {
        let mut tx = store.write().await.unwrap();
        let refused = helpdesk::update(
            &mut tx,
            &actor(),
            &cfg,
            &tree,
            t.id,
            &TicketInput { assignee_user_id: Some(caller.0), ..Default::default() },
        )
        .await;
        assert!(matches!(refused, Err(StoreError::Validation(_))), "{refused:?}");
        drop(tx);
        let mut tx = store.write().await.unwrap();
        let t = helpdesk::update(
            &mut tx,
            &actor(),
            &cfg,
            &tree,
            t.id,
            &TicketInput { assignee_user_id: Some(tech.0), assignee_group_id: Some(group.id.0), ..Default::default() },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        t
    };
    assert_eq!(t.status, TicketStatus::Assigned);
    assert!(t.owned_at.is_some());
    assert_eq!(t.assignee_group_name.as_deref(), Some("Support N1"));

    // Pending pauses the resolution clock; resuming pushes the deadline back, never earlier.
    let due_before = time(&t.resolve_due_at);
    let t = {
        let mut tx = store.write().await.unwrap();
        let t = helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, t.id, TicketStatus::Pending, None).await.unwrap();
        assert!(t.pending_since.is_some(), "the pause is recorded");
        let t = helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, t.id, TicketStatus::Assigned, None).await.unwrap();
        tx.commit().await.unwrap();
        t
    };
    assert!(t.pending_since.is_none());
    assert!(time(&t.resolve_due_at) >= due_before);

    // Follow-ups (a private one the requester will not see) and a task with time spent.
    {
        let mut tx = store.write().await.unwrap();
        helpdesk::add_followup(&mut tx, &actor(), t.id, "Je passe cet après-midi.", false).await.unwrap();
        helpdesk::add_followup(&mut tx, &actor(), t.id, "Câble arraché, voir avec les services techniques.", true)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.write().await.unwrap();
        let start = "2030-01-07T09:00:00Z".to_owned();
        let bad = helpdesk::save_task(
            &mut tx,
            &actor(),
            &tree,
            t.id,
            None,
            &TaskInput {
                description: Some("RDV".into()),
                technician_user_id: Some(tech.0),
                planned_start: Some(start.clone()),
                planned_end: Some("2030-01-07T08:00:00Z".into()),
                ..Default::default()
            },
        )
        .await;
        assert!(matches!(bad, Err(StoreError::Validation(_))));
        drop(tx);
        let mut tx = store.write().await.unwrap();
        let k = helpdesk::save_task(
            &mut tx,
            &actor(),
            &tree,
            t.id,
            None,
            &TaskInput {
                description: Some("Remplacement du cordon".into()),
                technician_user_id: Some(tech.0),
                on_site: Some(true),
                planned_start: Some(start),
                planned_end: Some("2030-01-07T10:00:00Z".into()),
                hardware_needed: Some("Cordon RJ11".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let k = helpdesk::save_task(
            &mut tx,
            &actor(),
            &tree,
            t.id,
            Some(k.id),
            &TaskInput { duration_minutes: Some(45), done: Some(true), ..Default::default() },
        )
        .await
        .unwrap();
        assert!(k.done && k.done_at.is_some() && k.on_site);
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        assert_eq!(helpdesk::followups(&mut c, t.id, false).await.unwrap().len(), 1);
        assert_eq!(helpdesk::followups(&mut c, t.id, true).await.unwrap().len(), 2);
        let tasks = helpdesk::tasks(&mut c, t.id, true).await.unwrap();
        assert_eq!(tasks[0].duration_minutes, 45);
        assert_eq!(helpdesk::get(&mut c, t.id).await.unwrap().unwrap().status, TicketStatus::Planned);
    }

    // Solve needs a solution; the requester refuses (reopens), then accepts and rates.
    {
        let mut tx = store.write().await.unwrap();
        let no = helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, t.id, TicketStatus::Solved, Some(" ")).await;
        assert!(matches!(no, Err(StoreError::Validation(_))));
        drop(tx);
        let mut tx = store.write().await.unwrap();
        helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, t.id, TicketStatus::Solved, Some("Cordon remplacé."))
            .await
            .unwrap();
        let r =
            helpdesk::refuse_solution(&mut tx, &actor(), &cfg, &tree, t.id, "Il ne sonne toujours pas.").await.unwrap();
        assert_eq!(r.status, TicketStatus::Assigned);
        assert!(r.solved_at.is_none());
        let closed_early = helpdesk::rate(&mut tx, &actor(), t.id, 5, None).await;
        assert!(matches!(closed_early, Err(StoreError::Validation(_))));
        helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, t.id, TicketStatus::Solved, Some("Prise murale changée."))
            .await
            .unwrap();
        let c = helpdesk::accept_solution(&mut tx, &actor(), &cfg, &tree, t.id).await.unwrap();
        assert_eq!(c.status, TicketStatus::Closed);
        let r = helpdesk::rate(&mut tx, &actor(), t.id, 4, Some("Merci")).await.unwrap();
        assert_eq!(r.satisfaction, Some(4));
        // Closed is final.
        let reopen = helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, t.id, TicketStatus::New, None).await;
        let Err(StoreError::Validation(v)) = reopen else { panic!("{reopen:?}") };
        assert_eq!(v.for_field("status").unwrap().code, "status_transition");
        tx.commit().await.unwrap();
    }

    // The history groups every change on the ticket.
    {
        let mut c = store.read().await.unwrap();
        let h = audit::for_object(&mut c, ObjectType::Ticket, t.id.0, 100).await.unwrap();
        let actions: Vec<&str> = h.iter().map(|e| e.action.as_str()).collect();
        for a in ["create", "update", "followup", "task"] {
            assert!(actions.contains(&a), "{a} missing from {actions:?}");
        }
    }

    // Lists: scope, own-only requesters, filters, text.
    {
        let mut tx = store.write().await.unwrap();
        for n in 0..5 {
            helpdesk::create(
                &mut tx,
                &actor(),
                &cfg,
                &tree,
                &TicketInput {
                    entity_id: Some(if n % 2 == 0 { school.0 } else { other.0 }),
                    title: Some(format!("Imprimante {n} bloquée")),
                    requester_name: Some("Mme Martin".into()),
                    requester_phone: Some("05 55 12 34 56".into()),
                    urgency: Some(5),
                    impact: Some(5),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        let b = store.backend();
        let all =
            helpdesk::list(&mut c, b, &scope(&[root, school, other]), tech, &TicketQuery::default()).await.unwrap();
        assert_eq!(all.total, 5, "open tickets only by default");
        assert_eq!(all.items[0].priority, 5);
        let school_only = helpdesk::list(
            &mut c,
            b,
            &scope(&[school]),
            tech,
            &TicketQuery { status: Some("all".into()), ..Default::default() },
        )
        .await
        .unwrap();
        assert_eq!(school_only.total, 4);
        let own = Scope { full: Default::default(), own_only: [school].into_iter().collect() };
        let mine =
            helpdesk::list(&mut c, b, &own, caller, &TicketQuery { status: Some("all".into()), ..Default::default() })
                .await
                .unwrap();
        assert_eq!(mine.total, 1, "a requester sees only their own tickets");
        let theirs = helpdesk::list(
            &mut c,
            b,
            &Scope { full: Default::default(), own_only: [other].into_iter().collect() },
            outsider,
            &TicketQuery { status: Some("all".into()), ..Default::default() },
        )
        .await
        .unwrap();
        assert_eq!(theirs.total, 0);
        let text = helpdesk::list(
            &mut c,
            b,
            &scope(&[school, other]),
            tech,
            &TicketQuery { q: Some("imprimante 3".into()), ..Default::default() },
        )
        .await
        .unwrap();
        assert_eq!(text.total, 1);
        let by_number = helpdesk::list(
            &mut c,
            b,
            &scope(&[school, other]),
            tech,
            &TicketQuery { q: Some(format!("#{}", t.id.0)), status: Some("all".into()), ..Default::default() },
        )
        .await
        .unwrap();
        assert_eq!(by_number.total, 1);
        let bad = helpdesk::list(
            &mut c,
            b,
            &scope(&[school]),
            tech,
            &TicketQuery { status: Some("nope".into()), ..Default::default() },
        )
        .await;
        assert!(matches!(bad, Err(StoreError::Validation(_))));
        let breached = helpdesk::list(
            &mut c,
            b,
            &scope(&[school, other]),
            tech,
            &TicketQuery { sla: Some("breached".into()), ..Default::default() },
        )
        .await
        .unwrap();
        assert_eq!(breached.total, 0);
    }
}

//! Helpdesk dashboards and reports on every backend: open tickets counted by priority, status,
//! technician and group within the reader's scope; SLA at-risk and breached counts at a
//! controlled instant (a pending ticket's resolution clock stands still); time spent per month
//! in Paris time across a month boundary, by technician (or author) and category; tickets
//! opened, solved and rated per month.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{actor, entity};
use parc_core::helpdesk::{SlaFlag, TicketStatus};
use parc_core::permissions::{Grant, Profile, Scope};
use parc_core::{EntityId, TicketId, UserId};
use parc_store::helpdesk::reports::{self, Count, Months, TimeRow};
use parc_store::helpdesk::{self, CategoryInput, GroupInput, TaskInput, TicketInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{entities, Actor, Store};

#[tokio::test]
async fn reports_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db.store).await;
        dashboard_counts(&db.store, &w).await;
        sla_counts_at_a_controlled_instant(&db.store, &w).await;
        time_spent_per_month(&db.store, &w).await;
        tickets_per_month(&db.store, &w).await;
    }
}

/// Two schools of a county; two technicians of the county; a group; a category.
struct World {
    school_a: EntityId,
    school_b: EntityId,
    anne: UserId,
    bruno: UserId,
    group: i64,
    category: i64,
    /// School A: Anne's (in the group, with the category), Bruno's, nobody's; school B: Anne's.
    tickets: [TicketId; 4],
}

fn as_user(id: UserId) -> Actor {
    Actor { user_id: Some(id), label: format!("user {id}"), request_id: None }
}

fn scope(ids: &[EntityId]) -> Scope {
    Scope { full: ids.iter().copied().collect(), own_only: Default::default() }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn world(store: &Store) -> World {
    let county = entity(store, "Département", None).await;
    let school_a = entity(store, "Collège A", Some(county)).await;
    let school_b = entity(store, "Collège B", Some(county)).await;
    let mut tx = store.write().await.unwrap();
    let mut techs = Vec::new();
    for (login, name) in [("anne", "Anne Tech"), ("bruno", "Bruno Tech")] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(name.into()),
            entity_id: Some(county.0),
            ..Default::default()
        };
        let u = users::create(&mut tx, &actor(), &input, None).await.unwrap();
        let grant = Grant { entity_id: county, profile: Profile::Technician, recursive: true };
        users::set_grants(&mut tx, &actor(), u.id, &[grant]).await.unwrap();
        techs.push(u.id);
    }
    let (anne, bruno) = (techs[0], techs[1]);
    let group = GroupInput { entity_id: Some(county.0), name: Some("Réseau".into()), ..Default::default() };
    let group = helpdesk::create_group(&mut tx, &actor(), &group).await.unwrap().id.0;
    let cat = CategoryInput { entity_id: Some(county.0), name: Some("Brassage".into()), ..Default::default() };
    let category = helpdesk::create_category(&mut tx, &actor(), &cat).await.unwrap().id.0;
    let tree = entities::tree(&mut tx).await.unwrap();
    let cfg = helpdesk::config(&mut tx).await.unwrap();
    let mut tickets = Vec::new();
    for (school, tech, with_group) in [
        (school_a, Some(anne), true),
        (school_a, Some(bruno), false),
        (school_a, None, false),
        (school_b, Some(anne), false),
    ] {
        let input = TicketInput {
            entity_id: Some(school.0),
            title: Some(format!("Panne {}", tickets.len() + 1)),
            requester_name: Some("M. Appelant".into()),
            assignee_user_id: tech.map(|u| u.0),
            assignee_group_id: with_group.then_some(group),
            category_id: with_group.then_some(category),
            ..Default::default()
        };
        tickets.push(helpdesk::create(&mut tx, &actor(), &cfg, &tree, &input).await.unwrap().id);
    }
    // A solved ticket of school A is no longer open.
    let input = TicketInput {
        entity_id: Some(school_a.0),
        title: Some("Réglé".into()),
        requester_name: Some("M. Appelant".into()),
        assignee_user_id: Some(anne.0),
        ..Default::default()
    };
    let solved = helpdesk::create(&mut tx, &actor(), &cfg, &tree, &input).await.unwrap().id;
    helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, solved, TicketStatus::Solved, Some("Câble changé"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    World { school_a, school_b, anne, bruno, group, category, tickets: tickets.try_into().unwrap() }
}

fn count(id: Option<i64>, name: Option<&str>, n: i64) -> Count {
    Count { id, name: name.map(String::from), count: n }
}

async fn dashboard_counts(store: &Store, w: &World) {
    let mut c = store.read().await.unwrap();
    let d = reports::dashboard(&mut c, store.backend(), &scope(&[w.school_a]), w.anne, Utc::now()).await.unwrap();
    assert_eq!(d.open, 3, "the solved ticket and school B's are not counted");
    let p3 = d.by_priority.iter().find(|x| x.id == Some(3)).unwrap();
    assert_eq!(p3.count, 3, "urgency 3 x impact 3 is priority 3");
    assert_eq!(d.by_priority.len(), 6);
    assert_eq!(d.by_priority.iter().map(|x| x.count).sum::<i64>(), 3);
    let statuses: Vec<(&str, i64)> = d.by_status.iter().map(|x| (x.name.as_deref().unwrap(), x.count)).collect();
    assert_eq!(statuses, [("new", 1), ("assigned", 2), ("planned", 0), ("pending", 0)]);
    assert_eq!(
        d.by_technician,
        [
            count(None, None, 1),
            count(Some(w.anne.0), Some("Anne Tech"), 1),
            count(Some(w.bruno.0), Some("Bruno Tech"), 1)
        ]
    );
    assert_eq!(d.by_group, [count(None, None, 2), count(Some(w.group), Some("Réseau"), 1)]);

    // Both schools: Anne has two open tickets and comes first.
    let d = reports::dashboard(&mut c, store.backend(), &scope(&[w.school_a, w.school_b]), w.anne, Utc::now())
        .await
        .unwrap();
    assert_eq!(d.open, 4);
    assert_eq!(d.by_technician[1], count(Some(w.anne.0), Some("Anne Tech"), 2));
    // A requester's scope counts the tickets they asked for: none of these.
    let own = Scope { full: Default::default(), own_only: [w.school_a].into_iter().collect() };
    let d = reports::dashboard(&mut c, store.backend(), &own, w.anne, Utc::now()).await.unwrap();
    assert_eq!((d.open, d.sla_breached), (0, 0));
    let s = reports::summary(&mut c, store.backend(), &scope(&[w.school_a]), w.anne, Utc::now()).await.unwrap();
    assert_eq!((s.open, s.at_risk, s.breached), (3, 0, 0));
    // Nothing in scope, nothing counted.
    let d = reports::dashboard(&mut c, store.backend(), &Scope::default(), w.anne, Utc::now()).await.unwrap();
    assert_eq!((d.open, d.by_technician.len(), d.sla_breached), (0, 0, 0));
}

async fn sla_counts_at_a_controlled_instant(store: &Store, w: &World) {
    let s = scope(&[w.school_a]);
    let [owned, other, nobody, _] = w.tickets;
    let (t_nobody, t_owned) = {
        let mut c = store.read().await.unwrap();
        (helpdesk::get(&mut c, nobody).await.unwrap().unwrap(), helpdesk::get(&mut c, owned).await.unwrap().unwrap())
    };
    let time = |v: &Option<String>| at(v.as_deref().unwrap());
    let counts = async |now: DateTime<Utc>| {
        let mut c = store.read().await.unwrap();
        (
            reports::sla_count(&mut c, store.backend(), &s, w.anne, SlaFlag::AtRisk, now).await.unwrap(),
            reports::sla_count(&mut c, store.backend(), &s, w.anne, SlaFlag::Breached, now).await.unwrap(),
        )
    };
    assert_eq!(counts(at("2000-01-01T00:00:00Z")).await, (0, 0), "before anything was due");
    // Nobody took the unassigned ticket: its time to own is at risk, then breached.
    let warn = time(&t_nobody.own_warn_at);
    assert_eq!(counts(warn + Duration::seconds(1)).await, (1, 0));
    assert_eq!(counts(time(&t_nobody.own_due_at) + Duration::seconds(1)).await, (0, 1));
    // The reader's own ticket in the same way: the flags at that instant agree with the ticket's.
    let late = time(&t_owned.resolve_due_at) + Duration::days(1);
    assert_eq!(t_owned.sla_flag(late), SlaFlag::Breached);
    assert_eq!(counts(late).await, (0, 3));
    // A pending ticket's resolution clock stands still: no longer counted as breached.
    {
        let mut tx = store.write().await.unwrap();
        let cfg = helpdesk::config(&mut tx).await.unwrap();
        let tree = entities::tree(&mut tx).await.unwrap();
        helpdesk::set_status(&mut tx, &actor(), &cfg, &tree, other, TicketStatus::Pending, None).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(counts(late).await, (0, 2));
    let mut c = store.read().await.unwrap();
    let d = reports::dashboard(&mut c, store.backend(), &s, w.anne, late).await.unwrap();
    assert_eq!((d.sla_at_risk, d.sla_breached), (0, 2), "the dashboard counts the same");
    assert_eq!(d.by_status.iter().find(|x| x.name.as_deref() == Some("pending")).unwrap().count, 1);
}

/// Sets stored timestamps of a task (the store writes "now"; a report needs the past).
async fn backdate_task(store: &Store, task: i64, created: &str, done: Option<&str>, technician: Option<i64>) {
    let mut tx = store.write().await.unwrap();
    sqlx::query(
        "UPDATE ticket_tasks SET created_at = $1, done_at = $2, done = $3, technician_user_id = $4 WHERE id = $5",
    )
    .bind(created)
    .bind(done)
    .bind(i64::from(done.is_some()))
    .bind(technician)
    .bind(task)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn task(store: &Store, by: UserId, ticket: TicketId, minutes: i64) -> i64 {
    let mut tx = store.write().await.unwrap();
    let tree = entities::tree(&mut tx).await.unwrap();
    let input =
        TaskInput { description: Some("Intervention".into()), duration_minutes: Some(minutes), ..Default::default() };
    let k = helpdesk::save_task(&mut tx, &as_user(by), &tree, ticket, None, &input).await.unwrap();
    tx.commit().await.unwrap();
    k.id.0
}

async fn time_spent_per_month(store: &Store, w: &World) {
    let [with_category, plain, _, in_b] = w.tickets;
    let (anne, bruno) = (Some(w.anne.0), Some(w.bruno.0));
    // 31 January 23:30 in Paris (22:30 UTC) is January; 00:30 on 1 February (23:30 UTC) is not.
    let k = task(store, w.anne, with_category, 45).await;
    backdate_task(store, k, "2026-01-31T22:30:00.000Z", None, anne).await;
    let k = task(store, w.anne, with_category, 30).await;
    backdate_task(store, k, "2026-01-31T23:30:00.000Z", None, anne).await;
    // Recorded in January, done in February: February's.
    let k = task(store, w.bruno, plain, 60).await;
    backdate_task(store, k, "2026-01-10T09:00:00.000Z", Some("2026-02-15T10:00:00.000Z"), bruno).await;
    // No technician: its author's.
    let k = task(store, w.bruno, plain, 15).await;
    backdate_task(store, k, "2026-02-20T09:00:00.000Z", None, None).await;
    // 31 December 23:59 in Paris: before the period.
    let k = task(store, w.anne, plain, 100).await;
    backdate_task(store, k, "2025-12-31T22:59:59.999Z", None, anne).await;
    // Another school's ticket: outside the entities asked for.
    let k = task(store, w.anne, in_b, 20).await;
    backdate_task(store, k, "2026-02-10T09:00:00.000Z", None, anne).await;
    // No time spent: no row.
    let k = task(store, w.anne, plain, 0).await;
    backdate_task(store, k, "2026-02-10T09:00:00.000Z", None, anne).await;

    let months = Months::parse(Some("2026-01"), Some("2026-02"), Utc::now()).unwrap();
    let mut c = store.read().await.unwrap();
    let r = reports::time_spent(&mut c, &[w.school_a.0], &months).await.unwrap();
    assert_eq!(r.months, ["2026-01", "2026-02"]);
    let row = |id: Option<i64>, name: Option<&str>, minutes: Vec<i64>| TimeRow {
        id,
        name: name.map(String::from),
        total_minutes: minutes.iter().sum(),
        minutes,
    };
    assert_eq!(
        r.by_technician,
        [row(anne, Some("Anne Tech"), vec![45, 30]), row(bruno, Some("Bruno Tech"), vec![0, 75])]
    );
    assert_eq!(r.by_category, [row(Some(w.category), Some("Brassage"), vec![45, 30]), row(None, None, vec![0, 75])]);
    assert_eq!((r.total_minutes.clone(), r.grand_total_minutes), (vec![45, 105], 150));

    // Both schools, December to February.
    let months = Months::parse(Some("2025-12"), Some("2026-02"), Utc::now()).unwrap();
    let r = reports::time_spent(&mut c, &[w.school_a.0, w.school_b.0], &months).await.unwrap();
    assert_eq!(r.by_technician[0].minutes, [100, 45, 50]);
    assert_eq!(r.grand_total_minutes, 270);
    // No entity: nothing.
    let r = reports::time_spent(&mut c, &[], &months).await.unwrap();
    assert!(r.by_technician.is_empty() && r.grand_total_minutes == 0);
    assert_eq!(r.total_minutes, [0, 0, 0]);
}

async fn tickets_per_month(store: &Store, w: &World) {
    let [a1, a2, a3, b1] = w.tickets;
    let mut tx = store.write().await.unwrap();
    for (id, created, solved, closed, rating) in [
        (a1, "2026-03-01T08:00:00.000Z", Some("2026-03-02T08:00:00.000Z"), Some("2026-04-01T08:00:00.000Z"), Some(4)),
        (a2, "2026-03-31T21:59:00.000Z", None, Some("2026-04-02T08:00:00.000Z"), Some(5)),
        // 31 March 22:30 UTC is 1 April in Paris (summer time).
        (a3, "2026-03-31T22:30:00.000Z", Some("2026-04-03T08:00:00.000Z"), Some("2026-04-04T08:00:00.000Z"), None),
        (b1, "2026-03-05T08:00:00.000Z", None, None, None),
    ] {
        sqlx::query(
            "UPDATE tickets SET created_at = $1, solved_at = $2, closed_at = $3, satisfaction = $4 WHERE id = $5",
        )
        .bind(created)
        .bind(solved)
        .bind(closed)
        .bind(rating)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let months = Months::parse(Some("2026-03"), Some("2026-04"), Utc::now()).unwrap();
    let mut c = store.read().await.unwrap();
    let r = reports::tickets_per_month(&mut c, &[w.school_a.0], &months).await.unwrap();
    let got: Vec<(&str, i64, i64, i64, Option<f64>)> =
        r.iter().map(|m| (m.month.as_str(), m.opened, m.solved, m.rated, m.satisfaction)).collect();
    assert_eq!(got, [("2026-03", 2, 1, 0, None), ("2026-04", 1, 1, 2, Some(4.5))]);
}

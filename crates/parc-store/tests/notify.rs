//! Ticket notifications on every backend: which events are recorded (and only while sending is
//! on), who receives each of them (requester side, handlers, fallback technicians; never the
//! actor, an inactive user, a user without an address or one who opted out, never an address
//! twice), and the SLA watcher (each level once, safe with two watchers at once).

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;

use chrono::{DateTime, Duration, Utc};
use common::{actor, entity};
use parc_core::audit::ObjectType;
use parc_core::entities::EntityTree;
use parc_core::helpdesk::TicketStatus;
use parc_core::permissions::Profile;
use parc_core::{EntityId, GroupId, TicketId, UserId};
use parc_mail::{Security, SmtpSettings};
use parc_store::helpdesk::notify::{self, Clock, EventKind, Notice};
use parc_store::helpdesk::{self, GroupInput, HelpdeskConfig, TaskInput, Ticket, TicketInput};
use parc_store::jobs::{self, NOTIFY};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{audit, entities, mail_settings, Actor, Store};

/// A user with a profile on `entity` (recursive) and, when given, an e-mail address.
async fn person(store: &Store, login: &str, entity: EntityId, profile: Profile, email: Option<&str>) -> UserId {
    let input = UserInput {
        login: Some(login.into()),
        display_name: Some(format!("{login} (nom)")),
        email: email.map(Into::into),
        entity_id: Some(entity.0),
        ..Default::default()
    };
    common::user(store, &input, Some(profile)).await
}

fn as_user(id: UserId, login: &str) -> Actor {
    Actor { user_id: Some(id), label: login.into(), request_id: None }
}

async fn set_mail(store: &Store, enabled: bool) {
    let smtp = SmtpSettings {
        host: "127.0.0.1".into(),
        port: 2525,
        security: Security::None,
        from: "Parc <parc@example.org>".into(),
        timeout_secs: 5,
        ..SmtpSettings::default()
    };
    let mut tx = store.write().await.unwrap();
    mail_settings::put(&mut tx, &actor(), store.cipher(), enabled, &smtp, None).await.unwrap();
    tx.commit().await.unwrap();
}

/// The pending notices, taken out of the queue (completed) so the next call sees only new ones.
async fn drain(store: &Store) -> Vec<Notice> {
    let pending = {
        let mut c = store.read().await.unwrap();
        jobs::pending(&mut c, 1000).await.unwrap()
    };
    let mut out = Vec::new();
    for job in pending.into_iter().filter(|j| j.kind == NOTIFY) {
        out.push(job.payload::<Notice>().unwrap());
        jobs::complete(store, job.id).await.unwrap();
    }
    out
}

/// The one pending notice (asserting there is exactly one) and its recipients' addresses.
async fn only_notice(store: &Store) -> (Notice, Vec<String>) {
    let mut all = drain(store).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let n = all.remove(0);
    let to = addresses(store, &n).await;
    (n, to)
}

async fn addresses(store: &Store, n: &Notice) -> Vec<String> {
    let mut c = store.read().await.unwrap();
    let prepared = notify::prepare(&mut c, n).await.unwrap().expect("the ticket exists");
    prepared.recipients.into_iter().map(|r| r.email).collect()
}

fn list(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| format!("{s}@example.org")).collect()
}

struct World {
    store: Store,
    tree: EntityTree,
    cfg: HelpdeskConfig,
    school: EntityId,
    group: GroupId,
    hotline: UserId,
    tech: UserId,
    tech2: UserId,
    caller: UserId,
    boss: UserId,
    observers: Vec<i64>,
}

/// A town hall and its school; a hotline, three technicians (two in "Support N1", the third
/// opted out of assignments), a technician of another entity, a caller, the person a ticket
/// is for, and observers: one sharing the caller's address (other case), one to be made
/// inactive, one without an address.
async fn world(store: &Store) -> World {
    let root = entity(store, "Mairie", None).await;
    let school = entity(store, "École Jules Ferry", Some(root)).await;
    let library = entity(store, "Médiathèque", Some(root)).await;
    let hotline = person(store, "hotline", root, Profile::Hotline, Some("hotline@example.org")).await;
    let tech = person(store, "tech", root, Profile::Technician, Some("tech@example.org")).await;
    let tech2 = person(store, "tech2", root, Profile::Technician, Some("tech2@example.org")).await;
    let tech3 = person(store, "tech3", root, Profile::Technician, Some("tech3@example.org")).await;
    person(store, "libtech", library, Profile::Technician, Some("libtech@example.org")).await;
    let caller = person(store, "caller", school, Profile::Requester, Some("caller@example.org")).await;
    let boss = person(store, "boss", school, Profile::Requester, Some("boss@example.org")).await;
    let twin = person(store, "twin", school, Profile::Requester, Some("Caller@Example.org")).await;
    let watcher = person(store, "watcher", school, Profile::Requester, Some("watcher@example.org")).await;
    let ghost = person(store, "ghost", school, Profile::Requester, Some("ghost@example.org")).await;
    let noaddr = person(store, "noaddr", school, Profile::Requester, None).await;
    let mut tx = store.write().await.unwrap();
    let group = helpdesk::create_group(
        &mut tx,
        &actor(),
        &GroupInput {
            entity_id: Some(root.0),
            name: Some("Support N1".into()),
            member_ids: Some(vec![tech2.0, tech3.0]),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    notify::set_optouts(&mut tx, &actor(), tech3, &[EventKind::Assignment]).await.unwrap();
    let (tree, cfg) = (entities::tree(&mut tx).await.unwrap(), helpdesk::config(&mut tx).await.unwrap());
    tx.commit().await.unwrap();
    World {
        store: store.clone(),
        tree,
        cfg,
        school,
        group,
        hotline,
        tech,
        tech2,
        caller,
        boss,
        observers: vec![twin.0, watcher.0, ghost.0, noaddr.0],
    }
}

impl World {
    async fn open(&self, by: &Actor, input: TicketInput) -> Ticket {
        let mut tx = self.store.write().await.unwrap();
        let input = TicketInput { entity_id: Some(self.school.0), ..input };
        let t = helpdesk::create(&mut tx, by, &self.cfg, &self.tree, &input).await.unwrap();
        tx.commit().await.unwrap();
        t
    }

    async fn update(&self, by: &Actor, id: TicketId, input: TicketInput) {
        let mut tx = self.store.write().await.unwrap();
        helpdesk::update(&mut tx, by, &self.cfg, &self.tree, id, &input).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn status(&self, by: &Actor, id: TicketId, to: TicketStatus, solution: Option<&str>) {
        let mut tx = self.store.write().await.unwrap();
        helpdesk::set_status(&mut tx, by, &self.cfg, &self.tree, id, to, solution).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn followup(&self, by: &Actor, id: TicketId, private: bool) {
        let mut tx = self.store.write().await.unwrap();
        helpdesk::add_followup(&mut tx, by, id, "Toujours en panne ce matin.", private).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn task(
        &self,
        by: &Actor,
        id: TicketId,
        task: Option<parc_core::TaskId>,
        input: TaskInput,
    ) -> parc_core::TaskId {
        let mut tx = self.store.write().await.unwrap();
        let k = helpdesk::save_task(&mut tx, by, &self.tree, id, task, &input).await.unwrap();
        tx.commit().await.unwrap();
        k.id
    }
}

fn appointment(technician: UserId, on_site: bool, private: bool) -> TaskInput {
    TaskInput {
        description: Some("Changer le bloc d'alimentation".into()),
        technician_user_id: Some(technician.0),
        on_site: Some(on_site),
        is_private: Some(private),
        planned_start: Some("2030-03-12T08:00:00Z".into()),
        planned_end: Some("2030-03-12T09:00:00Z".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn events_and_their_recipients() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db.store).await;
        let store = &w.store;
        let hotline = as_user(w.hotline, "hotline");
        let full = TicketInput {
            title: Some("Imprimante bloquée".into()),
            requester_user_id: Some(w.caller.0),
            on_behalf_user_id: Some(w.boss.0),
            observer_ids: Some(w.observers.clone()),
            ..Default::default()
        };

        // Sending off: nothing is queued.
        w.open(&hotline, full.clone()).await;
        assert!(drain(store).await.is_empty());

        set_mail(store, true).await;
        // A new unassigned ticket: the requester side (the observer sharing the caller's
        // address once, neither the one made inactive meanwhile nor the one without an address), then the
        // users who handle the school's tickets (not the hotline: it is the actor; not the
        // library's technician).
        let t = w.open(&hotline, full.clone()).await;
        let ghost = UserId(w.observers[2]);
        let mut tx = store.write().await.unwrap();
        users::update(&mut tx, &actor(), ghost, &UserInput { active: Some(false), ..Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (n, to) = only_notice(store).await;
        assert_eq!((n.event, n.ticket_id, n.actor_user_id), (EventKind::NewTicket, t.id, Some(w.hotline)));
        assert_eq!(to, list(&["caller", "boss", "watcher", "tech", "tech2", "tech3"]));

        // Assigned to the group: the requester side and the group (tech3 opted out).
        w.update(&hotline, t.id, TicketInput { assignee_group_id: Some(w.group.0), ..Default::default() }).await;
        let (n, to) = only_notice(store).await;
        assert_eq!(n.event, EventKind::Assignment);
        assert_eq!(to, list(&["caller", "boss", "watcher", "tech2"]));
        // Another change is no assignment.
        w.update(&hotline, t.id, TicketInput { title: Some("Imprimante HS".into()), ..Default::default() }).await;
        assert!(drain(store).await.is_empty());

        // A public follow-up by the caller: everyone else; a private one by tech2: the handlers only.
        w.followup(&as_user(w.caller, "caller"), t.id, false).await;
        let (n, to) = only_notice(store).await;
        assert!(n.event == EventKind::Followup && n.followup_id.is_some(), "{n:?}");
        assert_eq!(to, list(&["boss", "watcher", "tech2", "tech3"]));
        w.followup(&as_user(w.tech2, "tech2"), t.id, true).await;
        let (_, to) = only_notice(store).await;
        assert_eq!(to, list(&["tech3"]));

        // An appointment with tech: the requester side and tech; on site, tech2 is not mailed
        // (the intervention sheet reaches them); a private one only reaches its technician.
        let k = w.task(&hotline, t.id, None, appointment(w.tech, false, false)).await;
        let (n, to) = only_notice(store).await;
        assert_eq!((n.event, n.task_id), (EventKind::Planning, Some(k)));
        assert_eq!(to, list(&["caller", "boss", "watcher", "tech"]));
        // Saving it again without moving it, or recording time spent: no news.
        w.task(&hotline, t.id, Some(k), TaskInput { duration_minutes: Some(30), ..Default::default() }).await;
        assert!(drain(store).await.is_empty());
        let moved = TaskInput { planned_start: Some("2030-03-12T07:00:00Z".into()), ..Default::default() };
        w.task(&hotline, t.id, Some(k), moved).await;
        assert_eq!(only_notice(store).await.1, list(&["caller", "boss", "watcher", "tech"]));
        w.task(&hotline, t.id, None, appointment(w.tech2, true, false)).await;
        assert_eq!(only_notice(store).await.1, list(&["caller", "boss", "watcher"]));
        w.task(&hotline, t.id, None, appointment(w.tech, false, true)).await;
        assert_eq!(only_notice(store).await.1, list(&["tech"]));
        w.task(&hotline, t.id, None, TaskInput { description: Some("Diagnostic".into()), ..Default::default() }).await;
        assert!(drain(store).await.is_empty(), "a task without appointment");

        // Solved by tech2: everyone but tech2 (tech3 did not opt out of solutions).
        w.status(&as_user(w.tech2, "tech2"), t.id, TicketStatus::Solved, Some("Rouleau remplacé.")).await;
        let (n, to) = only_notice(store).await;
        assert_eq!(n.event, EventKind::Solution);
        assert_eq!(to, list(&["caller", "boss", "watcher", "tech3"]));
        // Closing is not notified.
        w.status(&as_user(w.caller, "caller"), t.id, TicketStatus::Closed, None).await;
        assert!(drain(store).await.is_empty());

        // A caller without an account, the ticket assigned at once: only its technician.
        let free = TicketInput {
            title: Some("Poste fixe muet".into()),
            requester_name: Some("M. Martin".into()),
            requester_phone: Some("01 02 03 04 05".into()),
            assignee_user_id: Some(w.tech.0),
            ..Default::default()
        };
        w.open(&hotline, free).await;
        assert_eq!(only_notice(store).await.1, list(&["tech"]));

        // Opt-outs: read back, replaced, audited; a failed write (unknown user) changes nothing.
        let mut tx = store.write().await.unwrap();
        let mine = [EventKind::SlaWarning, EventKind::NewTicket, EventKind::SlaWarning];
        notify::set_optouts(&mut tx, &actor(), w.caller, &mine).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        assert_eq!(notify::optouts(&mut c, w.caller).await.unwrap(), vec![EventKind::NewTicket, EventKind::SlaWarning]);
        let trail = audit::for_object(&mut c, ObjectType::User, w.caller.0, 10).await.unwrap();
        assert!(serde_json::to_string(&trail).unwrap().contains("new_ticket,sla_warning"));
        drop(c);
        let mut tx = store.write().await.unwrap();
        assert!(notify::set_optouts(&mut tx, &actor(), UserId(999_999), &mine).await.is_err());
    }
}

fn at(stored: &Option<String>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(stored.as_deref().expect("a deadline")).unwrap().with_timezone(&Utc)
}

/// The SLA notices of a watcher pass: (ticket, event, clock).
async fn sla_notices(store: &Store) -> Vec<(TicketId, EventKind, Option<Clock>)> {
    let mut v: Vec<_> = drain(store).await.into_iter().map(|n| (n.ticket_id, n.event, n.clock)).collect();
    v.sort_by_key(|(t, e, _)| (t.0, e.as_str()));
    v
}

#[tokio::test]
async fn the_sla_watcher_notifies_each_level_once() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db.store).await;
        let store = &w.store;
        let hotline = as_user(w.hotline, "hotline");
        let call = |title: &str| TicketInput {
            title: Some(title.into()),
            requester_user_id: Some(w.caller.0),
            ..Default::default()
        };
        let waiting = w.open(&hotline, call("Sans technicien")).await;
        let assigned = w.open(&hotline, TicketInput { assignee_user_id: Some(w.tech.0), ..call("Pour tech") }).await;
        let paused = w.open(&hotline, call("En attente")).await;
        w.status(&hotline, paused.id, TicketStatus::Pending, None).await;
        let solved = w.open(&hotline, call("Déjà résolu")).await;
        w.status(&hotline, solved.id, TicketStatus::Solved, Some("Redémarré.")).await;

        // Nothing is due yet.
        let early = at(&waiting.own_warn_at) - Duration::seconds(1);
        assert_eq!(notify::watch_sla(store, early).await.unwrap(), notify::SlaPass::default());

        // The time to own of the unassigned ticket nears its end. Sending off: the watcher
        // records the level but queues nothing (no stale flood once sending is turned on).
        let warn = at(&waiting.own_warn_at) + Duration::seconds(1);
        let pass = notify::watch_sla(store, warn).await.unwrap();
        assert_eq!((pass.warnings, pass.breaches), (1, 0));
        assert!(drain(store).await.is_empty());
        set_mail(store, true).await;
        assert_eq!(notify::watch_sla(store, warn).await.unwrap(), notify::SlaPass::default(), "once");
        assert!(drain(store).await.is_empty());
        let due = at(&waiting.own_due_at) + Duration::seconds(1);
        // Two watchers at once (two nodes): one of them records the breach.
        let (a, b) = tokio::join!(notify::watch_sla(store, due), notify::watch_sla(store, due));
        assert_eq!(a.unwrap().breaches + b.unwrap().breaches, 1);
        let breach = sla_notices(store).await;
        assert_eq!(breach, vec![(waiting.id, EventKind::SlaBreach, Some(Clock::Own))]);
        assert_eq!(notify::watch_sla(store, due).await.unwrap(), notify::SlaPass::default());

        // Unassigned: the handlers of the school are told (nobody caused it, so the hotline
        // too), minus an opt-out of breaches.
        let mut tx = store.write().await.unwrap();
        notify::set_optouts(&mut tx, &actor(), w.tech2, &[EventKind::SlaBreach]).await.unwrap();
        tx.commit().await.unwrap();
        let n = Notice { clock: Some(Clock::Own), ..Notice::new(EventKind::SlaBreach, waiting.id, None) };
        assert_eq!(addresses(store, &n).await, list(&["hotline", "tech", "tech3"]));

        // Far later: both open tickets breach their time to resolve, recorded once, without a
        // warning first; the pending and the solved tickets are left alone.
        let late = at(&assigned.resolve_due_at) + Duration::days(30);
        let pass = notify::watch_sla(store, late).await.unwrap();
        assert_eq!((pass.warnings, pass.breaches), (0, 2));
        let both = vec![
            (waiting.id, EventKind::SlaBreach, Some(Clock::Resolve)),
            (assigned.id, EventKind::SlaBreach, Some(Clock::Resolve)),
        ];
        assert_eq!(sla_notices(store).await, both);
        assert_eq!(notify::watch_sla(store, late).await.unwrap(), notify::SlaPass::default());
        // The assigned ticket's breach goes to its technician.
        let n = Notice { clock: Some(Clock::Resolve), ..Notice::new(EventKind::SlaBreach, assigned.id, None) };
        assert_eq!(addresses(store, &n).await, list(&["tech"]));

        // Out of its pause, the pending ticket's clock runs again and it is caught up with.
        w.status(&hotline, paused.id, TicketStatus::Assigned, None).await;
        drain(store).await;
        let pass = notify::watch_sla(store, late + Duration::days(60)).await.unwrap();
        assert_eq!((pass.warnings, pass.breaches), (0, 1), "the resolution of the resumed ticket");
        assert_eq!(sla_notices(store).await, vec![(paused.id, EventKind::SlaBreach, Some(Clock::Resolve))]);
    }
}

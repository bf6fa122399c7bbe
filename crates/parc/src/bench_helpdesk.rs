//! `parc bench helpdesk`: a county council's helpdesk after years of use, then the hotline's
//! and the technicians' everyday requests through the whole HTTP stack (router, auth, scoping,
//! SQL, JSON/HTML rendering), in-process.
//!
//! Seeding (once; later runs reuse what is there): the bench entities (a root and 20 schools),
//! 20 000 assets, 2 technicians per school, 5 000 callers with phone numbers, and tickets up to
//! `--tickets`, bulk-loaded with 2 follow-ups and 1 task each. About 8 % of the tickets are
//! open (most tickets of a helpdesk's history are closed), spread over the last five years.

use crate::bench::{get, measure, Scenario};
use anyhow::{Context, Result};
use axum::http::Method;
use chrono::{Duration as Days, Utc};
use parc_core::helpdesk::PriorityMatrix;
use parc_core::permissions::{Grant, Profile, Scope};
use parc_core::{EntityId, UserId};
use parc_store::helpdesk::bulk::{self, BulkFollowup, BulkTask, BulkTicket};
use parc_store::helpdesk::{self, TicketQuery};
use parc_store::users::{self, UserInput};
use parc_store::{fmt_time, Actor, Store};
use std::time::Instant;

const ASSETS: usize = 20_000;
const CALLERS: usize = 5_000;
const TECHS_PER_SCHOOL: usize = 2;
/// Tickets per transaction while seeding.
const BATCH: usize = 10_000;

const TITLES: [&str; 12] = [
    "Imprimante bloquée",
    "Pas de réseau",
    "Écran noir au démarrage",
    "Mot de passe oublié",
    "Téléphone sans tonalité",
    "Vidéoprojecteur ne s'allume pas",
    "Installation d'un logiciel",
    "Messagerie inaccessible",
    "Lenteurs sur le poste",
    "Badge refusé à la pointeuse",
    "Tablette qui ne charge plus",
    "Demande de nouveau poste",
];
const FIRST: [&str; 16] = [
    "Camille",
    "Nicolas",
    "Isabelle",
    "Thomas",
    "Nathalie",
    "Julien",
    "Sophie",
    "Laurent",
    "Céline",
    "Éric",
    "Sandrine",
    "Olivier",
    "Valérie",
    "Stéphane",
    "Aurélie",
    "François",
];
const LAST: [&str; 16] = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier",
];

/// A small deterministic generator (xorshift64*): the same seed gives the same data set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The phone number of caller `i` as people write it ("01 47 12 34 56").
fn phone(i: usize) -> String {
    let n = 47_000_000 + i * 7;
    format!("01 {:02} {:02} {:02} {:02}", n / 1_000_000 % 100, n / 10_000 % 100, n / 100 % 100, n % 100)
}

pub async fn run(store: Store, tickets: usize, iterations: usize) -> Result<()> {
    anyhow::ensure!(tickets > 0 && iterations > 0, "--tickets and --iterations must be > 0");
    println!("backend: {}", store.backend().name());
    let started = Instant::now();
    let (root, schools) = crate::bench::ensure_entities(&store).await?;
    crate::bench::seed(&store, &schools, ASSETS).await?;
    let token = crate::bench::bench_token(&store, root).await?;
    let session = crate::bench::bench_session(&store).await?;
    let techs = ensure_people(&store, &schools).await?;
    let all: Scope =
        Scope { full: std::iter::once(root).chain(schools.iter().copied()).collect(), ..Default::default() };
    let have = {
        let mut c = store.read().await?;
        let q = TicketQuery { status: Some("all".into()), per_page: Some(1), ..Default::default() };
        helpdesk::list(&mut c, store.backend(), &all, UserId(0), &q).await?.total as usize
    };
    let first_id = seed_tickets(&store, &schools, &techs, have, tickets).await?;
    store.analyze().await?;
    println!(
        "{} tickets in the bench entities, statistics refreshed ({:.1} s including seeding)",
        tickets.max(have),
        started.elapsed().as_secs_f64()
    );

    let state = parc_web::AppState::new(store.clone(), parc_web::WebConfig::default()).await?;
    let app = parc_web::router(state);
    let span = tickets.max(have) as i64;
    let tech_ids: Vec<i64> = techs.iter().flat_map(|(_, t)| t.iter().map(|u| u.0)).collect();
    let school = schools[5].0;
    let t2 = tech_ids.clone();
    let scenarios = vec![
        Scenario { name: "list: open tickets (API)".into(), request: get(Box::new(|_| "/api/v1/tickets".into())) },
        Scenario {
            name: "list: open, priority 4 (API)".into(),
            request: get(Box::new(|_| "/api/v1/tickets?priority=4".into())),
        },
        Scenario {
            name: "list: a technician's open tickets (API)".into(),
            request: get(Box::new(move |i| {
                format!("/api/v1/tickets?assignee_user_id={}", tech_ids[i % tech_ids.len()])
            })),
        },
        Scenario {
            name: "list: one school, SLA at risk (API)".into(),
            request: get(Box::new(move |_| format!("/api/v1/tickets?entity_id={school}&sla=at_risk"))),
        },
        Scenario { name: "list: open tickets (HTML page)".into(), request: get(Box::new(|_| "/tickets".into())) },
        Scenario {
            name: "list: technician filter (HTML page)".into(),
            request: get(Box::new(move |i| format!("/tickets?technician={}", t2[i % t2.len()]))),
        },
        Scenario {
            name: "helpdesk dashboard (API)".into(),
            request: get(Box::new(|_| "/api/v1/helpdesk/dashboard".into())),
        },
        Scenario { name: "helpdesk dashboard (HTML page)".into(), request: get(Box::new(|_| "/helpdesk".into())) },
        Scenario { name: "home page (with its helpdesk box)".into(), request: get(Box::new(|_| "/".into())) },
        Scenario {
            name: "ticket page (HTML)".into(),
            request: get(Box::new(move |i| format!("/tickets/{}", first_id + (i as i64 * 7919) % span))),
        },
        Scenario {
            name: "ticket (API)".into(),
            request: get(Box::new(move |i| format!("/api/v1/tickets/{}", first_id + (i as i64 * 104_729) % span))),
        },
        Scenario {
            name: "suggest: caller name".into(),
            request: get(Box::new(|i| {
                format!("/api/v1/helpdesk/suggest?q={}", urlencoding::encode(LAST[i % LAST.len()]))
            })),
        },
        Scenario {
            name: "suggest: phone digits".into(),
            request: get(Box::new(|i| {
                format!("/api/v1/helpdesk/suggest?q={}", urlencoding::encode(&phone(i * 13 % CALLERS)[..11]))
            })),
        },
        Scenario {
            name: "suggest: asset tag".into(),
            request: get(Box::new(|i| format!("/api/v1/helpdesk/suggest?q=GPI-{:07}", (i * 7919) % ASSETS))),
        },
        Scenario {
            name: "suggest: computer name".into(),
            request: get(Box::new(|i| format!("/api/v1/helpdesk/suggest?q=PC-{:04}", (i * 13) % 9_999))),
        },
        Scenario {
            name: "suggest: IP address".into(),
            request: get(Box::new(|i| format!("/api/v1/helpdesk/suggest?q=192.168.{}.{}", 200 + i % 20, 10 + i % 200))),
        },
        Scenario {
            name: "create a ticket (API)".into(),
            request: Box::new(move |i| {
                let body = serde_json::json!({
                    "entity_id": school,
                    "kind": "incident",
                    "title": format!("{} (bench {i})", TITLES[i % TITLES.len()]),
                    "description": "Signalé par téléphone à la hotline.",
                    "requester_name": format!("{} {}", FIRST[i % 16], LAST[i / 16 % 16]),
                    "requester_phone": phone(i),
                    "urgency": 1 + (i % 5) as i64,
                    "impact": 1 + (i / 5 % 5) as i64,
                    "source": "hotline",
                });
                (Method::POST, "/api/v1/tickets".into(), Some(body.to_string()))
            }),
        },
    ];
    measure(&app, &token, &session, &scenarios, iterations).await?;
    if let Some(rss) = crate::bench::rss_mb() {
        println!("process RSS after the run: {rss:.1} MB");
    }
    store.close().await;
    Ok(())
}

/// Technicians (per school) and callers, created once; returns each school's technicians.
async fn ensure_people(store: &Store, schools: &[EntityId]) -> Result<Vec<(EntityId, Vec<UserId>)>> {
    let actor = Actor::system("bench");
    let mut tx = store.write().await?;
    let mut techs = Vec::new();
    for (s, school) in schools.iter().enumerate() {
        let mut ids = Vec::new();
        for k in 0..TECHS_PER_SCHOOL {
            let login = format!("bench-tech-{s:02}-{k}");
            let id = match users::by_login(&mut tx, &login).await? {
                Some((u, _)) => u.id,
                None => {
                    let input = UserInput {
                        login: Some(login),
                        display_name: Some(format!("{} {} (tech)", FIRST[(s + k) % 16], LAST[s % 16])),
                        email: Some(format!("tech{s}-{k}@bench.invalid")),
                        entity_id: Some(school.0),
                        ..Default::default()
                    };
                    let u = users::create(&mut tx, &actor, &input, None).await?;
                    let grant = Grant { entity_id: *school, profile: Profile::Technician, recursive: true };
                    users::set_grants(&mut tx, &actor, u.id, &[grant]).await?;
                    u.id
                }
            };
            ids.push(id);
        }
        techs.push((*school, ids));
    }
    if users::by_login(&mut tx, &format!("bench-caller-{:05}", CALLERS - 1)).await?.is_none() {
        for i in 0..CALLERS {
            let login = format!("bench-caller-{i:05}");
            if users::by_login(&mut tx, &login).await?.is_some() {
                continue;
            }
            let input = UserInput {
                login: Some(login),
                display_name: Some(format!("{} {} {i}", FIRST[i % 16], LAST[i / 16 % 16])),
                phone: Some(phone(i)),
                entity_id: Some(schools[i % schools.len()].0),
                ..Default::default()
            };
            users::create(&mut tx, &actor, &input, None).await?;
        }
    }
    tx.commit().await?;
    Ok(techs)
}

/// Adds tickets until the bench entities hold `target`; returns the lowest bench ticket id.
async fn seed_tickets(
    store: &Store,
    schools: &[EntityId],
    techs: &[(EntityId, Vec<UserId>)],
    have: usize,
    target: usize,
) -> Result<i64> {
    let callers: Vec<i64> = {
        let mut c = store.read().await?;
        let first = users::by_login(&mut c, "bench-caller-00000").await?.context("bench callers")?.0.id.0;
        (first..first + CALLERS as i64).collect()
    };
    let matrix = PriorityMatrix::glpi_default();
    let now = Utc::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ have as u64);
    let mut n = have;
    let started = Instant::now();
    while n < target {
        let end = (n + BATCH).min(target);
        let rows: Vec<BulkTicket> = (n..end)
            .map(|_| {
                let s = rng.below(schools.len());
                let (school, tech_ids) = &techs[s];
                let tech = tech_ids[rng.below(tech_ids.len())].0;
                let roll = rng.below(100);
                let (status, age_days) = match roll {
                    0..=3 => ("new", rng.below(3)),
                    4..=5 => ("assigned", rng.below(10)),
                    6 => ("planned", rng.below(10)),
                    7 => ("pending", rng.below(20)),
                    8..=11 => ("solved", rng.below(30)),
                    _ => ("closed", 30 + rng.below(5 * 365)),
                };
                let created = now - Days::days(age_days as i64) - Days::minutes(rng.below(600) as i64);
                let (u, im) = (1 + rng.below(5) as u8, 1 + rng.below(5) as u8);
                let priority = i64::from(matrix.priority(u, im).unwrap_or(3));
                let (requester_user_id, requester_name, requester_phone) = if rng.below(10) < 7 {
                    (Some(callers[rng.below(callers.len())]), None, None)
                } else {
                    let k = rng.below(CALLERS);
                    (None, Some(format!("{} {}", FIRST[k % 16], LAST[k / 16 % 16])), Some(phone(k)))
                };
                let at = |d: Days| Some(fmt_time(created + d));
                let done = matches!(status, "solved" | "closed");
                let t = fmt_time(created);
                BulkTicket {
                    entity_id: school.0,
                    kind: if rng.below(3) == 0 { "request" } else { "incident" },
                    status,
                    title: format!("{} salle {}", TITLES[rng.below(TITLES.len())], 100 + rng.below(50)),
                    description: "L'utilisateur signale le problème par téléphone.".into(),
                    requester_user_id,
                    requester_name,
                    requester_phone,
                    urgency: i64::from(u),
                    impact: i64::from(im),
                    priority,
                    assignee_user_id: (status != "new").then_some(tech),
                    created_at: t.clone(),
                    updated_at: fmt_time(created + Days::hours(2)),
                    own_warn_at: at(Days::hours(3)),
                    own_due_at: at(Days::hours(4)),
                    resolve_warn_at: at(Days::days(3)),
                    resolve_due_at: at(Days::days(4)),
                    owned_at: (status != "new").then(|| fmt_time(created + Days::minutes(30))),
                    solved_at: done.then(|| fmt_time(created + Days::hours(20))),
                    closed_at: (status == "closed").then(|| fmt_time(created + Days::days(3))),
                    solution: done.then(|| "Redémarrage et remise en service.".into()),
                    followups: (0..2)
                        .map(|k| BulkFollowup {
                            author_user_id: tech,
                            author_label: "bench".into(),
                            is_private: k == 1,
                            body: "Pris en charge, diagnostic en cours.".into(),
                            created_at: fmt_time(created + Days::minutes(40 + 60 * k)),
                        })
                        .collect(),
                    tasks: vec![BulkTask {
                        technician_user_id: tech,
                        description: "Intervention sur le poste.".into(),
                        duration_minutes: if done { 15 + rng.below(90) as i64 } else { 0 },
                        on_site: rng.below(4) == 0,
                        planned_start: (status == "planned")
                            .then(|| fmt_time(now + Days::days(1 + rng.below(6) as i64))),
                        planned_end: None,
                        done_at: done.then(|| fmt_time(created + Days::hours(19))),
                        created_at: fmt_time(created + Days::hours(1)),
                    }],
                    ..Default::default()
                }
            })
            .collect();
        let mut tx = store.write().await?;
        bulk::insert_tickets(&mut tx, store.backend(), &rows).await?;
        tx.commit().await?;
        n = end;
        eprint!(
            "\rseeding tickets: {n}/{target} ({:.0} tickets/s)",
            (n - have) as f64 / started.elapsed().as_secs_f64()
        );
    }
    if n > have {
        eprintln!();
    }
    let mut c = store.read().await?;
    let q = TicketQuery {
        status: Some("all".into()),
        sort: Some("id".into()),
        desc: Some(false),
        per_page: Some(1),
        ..Default::default()
    };
    let scope = Scope { full: schools.iter().copied().collect(), ..Default::default() };
    let page = helpdesk::list(&mut c, store.backend(), &scope, UserId(0), &q).await?;
    page.items.first().map(|t| t.id.0).context("no bench ticket")
}

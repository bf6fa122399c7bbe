//! Helpdesk pages, in-process: a technician opens a ticket from the form and finds it in the
//! list; a refused form stores nothing; requesters see their own tickets only and follow them
//! without changing them; private follow-ups stay private; the lifecycle refuses a forbidden
//! transition without changing anything.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use parc_core::assets::AssetInput;
use parc_core::helpdesk::TicketStatus;
use parc_core::permissions::{Grant, Profile, Scope};
use parc_core::{EntityId, TicketId, UserId};
use parc_store::assets;
use parc_store::entities;
use parc_store::helpdesk::{self, TicketInput, TicketQuery};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_web::{AppState, WebConfig};

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{created_id, csrf_post, entity, page_get, reply, sys, Reply};

/// A county with two schools; a technician of the county, two requesters in school A.
struct World {
    db: TestDb,
    app: Router,
    county: EntityId,
    school_a: EntityId,
    school_b: EntityId,
    tech: UserId,
    alice: UserId,
    bob: UserId,
    /// Browser sessions: (cookie value, CSRF token).
    tech_s: (String, String),
    alice_s: (String, String),
    bob_s: (String, String),
}

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let county = entity(&mut tx, "Conseil départemental", None).await;
    let school_a = entity(&mut tx, "Collège A", Some(county)).await;
    let school_b = entity(&mut tx, "Collège B", Some(county)).await;
    let mut user = async |login: &str, name: &str, entity: EntityId, p: Profile| {
        let u = users::create(
            &mut tx,
            &sys(),
            &UserInput {
                login: Some(login.into()),
                display_name: Some(name.into()),
                entity_id: Some(entity.0),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: entity, profile: p, recursive: true }])
            .await
            .unwrap();
        u.id
    };
    let tech = user("tech", "Théo Technicien", county, Profile::Technician).await;
    let alice = user("alice", "Alice Martin", school_a, Profile::Requester).await;
    let bob = user("bob", "Bob Durand", school_a, Profile::Requester).await;
    let tech_s = users::create_session(&mut tx, tech, chrono::Duration::hours(1)).await.unwrap();
    let alice_s = users::create_session(&mut tx, alice, chrono::Duration::hours(1)).await.unwrap();
    let bob_s = users::create_session(&mut tx, bob, chrono::Duration::hours(1)).await.unwrap();
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    World { app: parc_web::router(state), db, county, school_a, school_b, tech, alice, bob, tech_s, alice_s, bob_s }
}

async fn get(w: &World, uri: &str, s: &(String, String)) -> Reply {
    reply(&w.app, page_get(uri, s)).await
}

/// Posts a form with the session's CSRF token added.
async fn post(w: &World, uri: &str, s: &(String, String), fields: &[(&str, &str)]) -> Reply {
    reply(&w.app, csrf_post(uri, s, fields)).await
}

async fn ticket_count(w: &World) -> i64 {
    let mut c = w.db.store.read().await.unwrap();
    let scope = Scope { full: [w.county, w.school_a, w.school_b].into_iter().collect(), own_only: Default::default() };
    let q = TicketQuery { status: Some("all".into()), ..Default::default() };
    helpdesk::list(&mut c, w.db.store.backend(), &scope, w.tech, &q).await.unwrap().total
}

async fn status_of(w: &World, id: TicketId) -> TicketStatus {
    let mut c = w.db.store.read().await.unwrap();
    helpdesk::get(&mut c, id).await.unwrap().unwrap().status
}

/// Opens a ticket straight in the store (a requester's ticket opened by the technician).
async fn store_ticket(w: &World, title: &str, requester: UserId) -> TicketId {
    let mut tx = w.db.store.write().await.unwrap();
    let cfg = helpdesk::config(&mut tx).await.unwrap();
    let tree = entities::tree(&mut tx).await.unwrap();
    let t = helpdesk::create(
        &mut tx,
        &sys(),
        &cfg,
        &tree,
        &TicketInput {
            entity_id: Some(w.school_a.0),
            title: Some(title.into()),
            requester_user_id: Some(requester.0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    t.id
}

async fn technician_opens_a_ticket_from_the_form(w: &World) {
    // An asset of school A, to open the ticket from its page.
    let asset = {
        let mut tx = w.db.store.write().await.unwrap();
        let input = AssetInput {
            kind: Some("printer".into()),
            entity_id: Some(w.school_a.0),
            name: Some("IMP-CDI-01".into()),
            status: Some("in_use".into()),
            ..Default::default()
        };
        let id = assets::create(&mut tx, &sys(), w.db.store.cipher(), &input.validate(None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        id
    };
    let r = get(w, &format!("/tickets/new?asset={asset}"), &w.tech_s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("IMP-CDI-01"), "the asset is named on the form");
    assert!(r.body.contains(&format!("value=\"{asset}\"")), "the asset is prefilled");
    assert!(r.body.contains("Très haute"), "levels are labelled");

    let entity = w.school_a.to_string();
    let alice = w.alice.to_string();
    let asset_s = asset.to_string();
    let r = post(
        w,
        "/tickets/new",
        &w.tech_s,
        &[
            ("entity_id", &entity),
            ("kind", "incident"),
            ("title", "Imprimante du CDI en panne"),
            ("description", "Bourrage papier à chaque impression."),
            ("requester_user_id", &alice),
            ("requester_name", ""),
            ("requester_phone", ""),
            ("category_id", ""),
            ("location_id", ""),
            ("urgency", "4"),
            ("impact", "3"),
            ("assignee_user_id", ""),
            ("assignee_group_id", ""),
            ("asset_id", &asset_s),
        ],
    )
    .await;
    let id = created_id(&r);
    assert!(r.location().contains("ok=helpdesk.created"));

    let list = get(w, "/tickets", &w.tech_s).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Imprimante du CDI en panne"), "{}", list.body);
    assert!(list.body.contains(&format!("#{id}")));
    assert!(list.body.contains("Alice Martin"), "the requester is shown");
    assert!(list.body.contains("Nouveau"), "the status is shown in French");

    let page = get(w, &format!("/tickets/{id}?ok=helpdesk.created"), &w.tech_s).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Ticket ouvert."));
    assert!(page.body.contains("Bourrage papier"));
    assert!(page.body.contains(&format!("href=\"/assets/{asset}\"")), "the linked asset is a link");
    assert!(page.body.contains("Historique"));

    // The asset's page lists the ticket and offers a new one.
    let a = get(w, &format!("/assets/{asset}"), &w.tech_s).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(&format!("href=\"/tickets/{id}\"")));
    assert!(a.body.contains(&format!("/tickets/new?asset={asset}")));

    // Filters: the SLA filter and a status filter answer; a bad status is refused.
    let r = get(w, "/tickets?status=all&sla=breached&sort=updated&order=asc", &w.tech_s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("Imprimante du CDI en panne"), "a new ticket has not missed its deadline");
    let r = get(w, "/tickets?status=new&mine=1", &w.tech_s).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("Imprimante du CDI en panne"), "it is assigned to nobody");
    let r = get(w, "/tickets?status=waiting", &w.tech_s).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Without the CSRF token nothing is created.
    let before = ticket_count(w).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/tickets/new")
        .header(header::COOKIE, format!("parc_session={}", w.tech_s.0))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("entity_id={entity}&title=Sans+jeton&requester_user_id={alice}")))
        .unwrap();
    assert_eq!(reply(&w.app, req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(ticket_count(w).await, before);
}

async fn an_empty_title_stores_nothing(w: &World) {
    let before = ticket_count(w).await;
    let entity = w.school_a.to_string();
    let alice = w.alice.to_string();
    let r = post(
        w,
        "/tickets/new",
        &w.tech_s,
        &[
            ("entity_id", &entity),
            ("kind", "request"),
            ("title", "   "),
            ("description", "Texte conservé"),
            ("requester_user_id", &alice),
            ("urgency", "3"),
            ("impact", "3"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Ce champ est obligatoire."), "{}", r.body);
    assert!(r.body.contains("id=\"e-title\""), "the message is next to the title");
    assert!(r.body.contains("Texte conservé"), "what was typed is shown again");
    assert_eq!(ticket_count(w).await, before);

    // A bad phone and an asset that does not exist: per-field messages too.
    let r = post(
        w,
        "/tickets/new",
        &w.tech_s,
        &[
            ("entity_id", &entity),
            ("title", "Appel"),
            ("requester_name", "M. Dupont"),
            ("requester_phone", "pas un numéro"),
            ("urgency", "3"),
            ("impact", "3"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"e-requester_phone\""), "{}", r.body);
    let r =
        post(w, "/tickets/new", &w.tech_s, &[("entity_id", &entity), ("title", "Appel"), ("asset_id", "999999")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"e-asset_id\""), "{}", r.body);
    assert_eq!(ticket_count(w).await, before);
}

async fn requesters_see_their_own_tickets_only(w: &World) {
    // Alice opens hers from the form (she is a requester: it is hers whatever she sends).
    let entity = w.school_a.to_string();
    let bob = w.bob.to_string();
    let form = get(w, "/tickets/new", &w.alice_s).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Le ticket sera ouvert à votre nom."));
    assert!(!form.body.contains("name=\"assignee_user_id\""), "a requester does not assign");
    let r = post(
        w,
        "/tickets/new",
        &w.alice_s,
        &[
            ("entity_id", &entity),
            ("title", "Vidéoprojecteur salle 12 sans image"),
            ("requester_user_id", &bob),
            ("urgency", "3"),
            ("impact", "3"),
        ],
    )
    .await;
    let alices = created_id(&r);
    {
        let mut c = w.db.store.read().await.unwrap();
        let t = helpdesk::get(&mut c, alices).await.unwrap().unwrap();
        assert_eq!(t.requester_user_id, Some(w.alice), "a requester opens tickets for themselves");
    }
    let bobs = store_ticket(w, "Poste de Bob bloqué", w.bob).await;

    let list = get(w, "/tickets", &w.alice_s).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Vidéoprojecteur salle 12"));
    assert!(!list.body.contains("Poste de Bob bloqué"), "{}", list.body);
    assert!(!list.body.contains("name=\"mine\""), "no 'assigned to me' filter for a requester");

    let r = get(w, &format!("/tickets/{bobs}"), &w.alice_s).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("Poste de Bob bloqué"));
    let r = post(w, &format!("/tickets/{bobs}/followups"), &w.alice_s, &[("body", "Je regarde")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = get(w, &format!("/tickets/{alices}"), &w.alice_s).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("/status\""), "no status buttons for a requester");
    // Bob sees his own.
    let r = get(w, &format!("/tickets/{bobs}"), &w.bob_s).await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn a_requester_follows_but_does_not_change(w: &World) {
    let id = store_ticket(w, "Messagerie inaccessible", w.alice).await;
    let r = post(w, &format!("/tickets/{id}/status"), &w.alice_s, &[("status", "pending")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(status_of(w, id).await, TicketStatus::New);
    for (path, fields) in [
        ("assign", vec![("assignee_user_id", w.tech.to_string())]),
        ("edit", vec![("title", "Autre titre".to_owned())]),
        ("tasks", vec![("description", "Je répare moi-même".to_owned())]),
    ] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(w, &format!("/tickets/{id}/{path}"), &w.alice_s, &f).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    // A private follow-up is for technicians.
    let r = post(w, &format!("/tickets/{id}/followups"), &w.alice_s, &[("body", "Psst"), ("private", "1")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = post(w, &format!("/tickets/{id}/followups"), &w.alice_s, &[("body", "Toujours rien ce matin.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/tickets/{id}?ok=helpdesk.followup_saved"));
    let page = get(w, &format!("/tickets/{id}"), &w.alice_s).await;
    assert!(page.body.contains("Toujours rien ce matin."));
    // An empty follow-up is refused on the page, with the message.
    let r = post(w, &format!("/tickets/{id}/followups"), &w.alice_s, &[("body", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Ce champ est obligatoire."));

    // The technician solves it; Alice refuses, then accepts and rates.
    let r = post(w, &format!("/tickets/{id}/status"), &w.tech_s, &[("status", "solved"), ("solution", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a solution is required");
    assert_eq!(status_of(w, id).await, TicketStatus::New);
    let r = post(
        w,
        &format!("/tickets/{id}/status"),
        &w.tech_s,
        &[("status", "solved"), ("solution", "Mot de passe réinitialisé.")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(w, &format!("/tickets/{id}"), &w.alice_s).await;
    assert!(page.body.contains(&format!("/tickets/{id}/accept")));
    let r = post(w, &format!("/tickets/{id}/refuse"), &w.alice_s, &[("reason", "Ça ne marche toujours pas.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(w, id).await, TicketStatus::New);
    post(w, &format!("/tickets/{id}/status"), &w.tech_s, &[("status", "solved"), ("solution", "Boîte réparée.")]).await;
    let r = post(w, &format!("/tickets/{id}/accept"), &w.alice_s, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(w, id).await, TicketStatus::Closed);
    let r = post(w, &format!("/tickets/{id}/rate"), &w.alice_s, &[("score", "5"), ("comment", "Merci !")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(w, &format!("/tickets/{id}"), &w.alice_s).await;
    assert!(page.body.contains("Très satisfait"), "{}", page.body);
    // Bob, a requester of the same school, may not even see it.
    let r = post(w, &format!("/tickets/{id}/rate"), &w.bob_s, &[("score", "1")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn private_followups_stay_private(w: &World) {
    let id = store_ticket(w, "Écran qui clignote", w.alice).await;
    let r = post(
        w,
        &format!("/tickets/{id}/followups"),
        &w.tech_s,
        &[("body", "Note interne : écran à remplacer"), ("private", "1")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post(w, &format!("/tickets/{id}/followups"), &w.tech_s, &[("body", "Nous passons demain.")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // A private task with an appointment (Paris time).
    let tech = w.tech.to_string();
    let r = post(
        w,
        &format!("/tickets/{id}/tasks"),
        &w.tech_s,
        &[
            ("description", "Commander la dalle de remplacement"),
            ("duration_minutes", "90"),
            ("planned_start", "2030-01-15T09:00"),
            ("planned_end", "2030-01-15T10:30"),
            ("technician_user_id", &tech),
            ("private", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    {
        let mut c = w.db.store.read().await.unwrap();
        let tasks = helpdesk::tasks(&mut c, id, true).await.unwrap();
        assert_eq!(tasks[0].planned_start.as_deref(), Some("2030-01-15T08:00:00.000Z"), "09:00 in Paris in winter");
        assert_eq!(tasks[0].duration_minutes, 90);
    }
    assert_eq!(status_of(w, id).await, TicketStatus::Planned);
    let r = post(
        w,
        &format!("/tickets/{id}/tasks"),
        &w.tech_s,
        &[("description", "Rendez-vous"), ("planned_start", "2030-01-15T11:00"), ("planned_end", "2030-01-15T10:00")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("La fin doit suivre le début."), "{}", r.body);

    let alice = get(w, &format!("/tickets/{id}"), &w.alice_s).await;
    assert_eq!(alice.status, StatusCode::OK);
    assert!(alice.body.contains("Nous passons demain."));
    assert!(alice.body.contains("Théo Technicien"), "authors by their names");
    assert!(!alice.body.contains("Note interne"), "{}", alice.body);
    assert!(!alice.body.contains("Commander la dalle"));
    assert!(!alice.body.contains("(private)"), "nor its trace in the history");
    let tech = get(w, &format!("/tickets/{id}"), &w.tech_s).await;
    assert!(tech.body.contains("Note interne : écran à remplacer"));
    assert!(tech.body.contains("Commander la dalle"));
    assert!(tech.body.contains("1 h 30 min"));
}

async fn a_forbidden_transition_changes_nothing(w: &World) {
    let id = store_ticket(w, "Téléphone sans tonalité", w.alice).await;
    let r = post(w, &format!("/tickets/{id}/status"), &w.tech_s, &[("status", "closed")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // (askama escapes the apostrophe)
    assert!(r.body.contains("Ce changement de statut n&#39;est pas permis."), "{}", r.body);
    assert_eq!(status_of(w, id).await, TicketStatus::New);
    let r = post(w, &format!("/tickets/{id}/status"), &w.tech_s, &[("status", "waiting")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Valeur invalide."));
    assert_eq!(status_of(w, id).await, TicketStatus::New);
    // Allowed moves work: assign (new -> assigned), then pending.
    let tech = w.tech.to_string();
    let r =
        post(w, &format!("/tickets/{id}/assign"), &w.tech_s, &[("assignee_user_id", &tech), ("assignee_group_id", "")])
            .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(w, id).await, TicketStatus::Assigned);
    let r = post(w, &format!("/tickets/{id}/status"), &w.tech_s, &[("status", "pending")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(w, id).await, TicketStatus::Pending);
    // Editing: a level out of range is refused, a good one saved.
    let r = post(w, &format!("/tickets/{id}/edit"), &w.tech_s, &[("title", "Téléphone muet"), ("urgency", "9")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Choisissez une valeur entre 1 et 5."), "{}", r.body);
    let r = post(
        w,
        &format!("/tickets/{id}/edit"),
        &w.tech_s,
        &[("title", "Téléphone muet"), ("urgency", "5"), ("impact", "5"), ("priority", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut c = w.db.store.read().await.unwrap();
    let t = helpdesk::get(&mut c, id).await.unwrap().unwrap();
    assert_eq!((t.title.as_str(), t.urgency, t.impact), ("Téléphone muet", 5, 5));
    assert!(t.priority >= 4, "the matrix raised the priority");
    drop(c);
    // The history names the technician rather than an id.
    let page = get(w, &format!("/tickets/{id}"), &w.tech_s).await;
    assert!(page.body.contains("Théo Technicien"));
    assert!(page.body.contains("En attente"));
}

on_every_backend!(
    technician_opens_a_ticket_from_the_form,
    an_empty_title_stores_nothing,
    requesters_see_their_own_tickets_only,
    a_requester_follows_but_does_not_change,
    private_followups_stay_private,
    a_forbidden_transition_changes_nothing,
);

//! Checklists on every backend: a template and a built-in run on a phone, ticks with their
//! evidence and audit entries, the status change to `in_use` refused while a mandatory step is
//! open (nothing written) and allowed once every mandatory step is done, un-ticking gating
//! again, template edits leaving running copies alone, and abandoning a run.

use parc_core::assets::{AssetInput, AssetStatus};
use parc_core::audit::ObjectType;
use parc_core::checklists::{builtin, StepInput, TemplateInput};
use parc_store::checklists::{self, Photo, RunSource, TickInput};
use parc_store::entities::{self, EntityInput};
use parc_store::testing::TestDb;
use parc_store::{assets, audit, Actor, StoreError};

fn actor() -> Actor {
    Actor { user_id: None, label: "tech.alice".into(), request_id: Some("req-1".into()) }
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-a-real-image";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklists_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db).await;
        db.store.close().await;
    }
}

async fn story(db: &TestDb) {
    let store = &db.store;
    let mut tx = store.write().await.unwrap();
    let input = EntityInput { name: Some("Mairie".into()), parent_id: None, comment: None };
    let town = entities::create(&mut tx, &actor(), &input).await.unwrap().id;
    let phone = AssetInput {
        kind: Some("mobile_phone".into()),
        entity_id: Some(town.0),
        name: Some("Téléphone accueil".into()),
        status: Some("in_stock".into()),
        ..Default::default()
    };
    let phone = assets::create(&mut tx, &actor(), store.cipher(), &phone.validate(None).unwrap()).await.unwrap();
    // A template of the town: one optional step, one mandatory value step.
    let t_in = TemplateInput {
        name: Some("Coque et étiquette".into()),
        asset_kind: Some("mobile_phone".into()),
        steps: vec![
            StepInput { label: Some("Poser la coque".into()), mandatory: false, ..Default::default() },
            StepInput {
                label: Some("Coller l'étiquette".into()),
                mandatory: true,
                evidence: Some("value".into()),
                hint: Some("Numéro d'inventaire".into()),
            },
        ],
    };
    let tid = checklists::create_template(&mut tx, &actor(), town, &t_in.validate().unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    // Same name in the same entity: a validation error on `name`.
    let mut tx = store.write().await.unwrap();
    let dup = checklists::create_template(&mut tx, &actor(), town, &t_in.validate().unwrap()).await.unwrap_err();
    assert!(matches!(dup, StoreError::Validation(ref v) if v.fields[0].code == "name_taken"), "{dup:?}");
    drop(tx);

    let mut tx = store.write().await.unwrap();
    let a = assets::get(&mut tx, phone).await.unwrap().unwrap();
    let tpl = checklists::template(&mut tx, tid).await.unwrap().unwrap();
    assert_eq!(tpl.steps.len(), 2);
    assert_eq!(tpl.steps[1].hint.as_deref(), Some("Numéro d'inventaire"));
    let r1 = checklists::start_run(&mut tx, &actor(), &a, RunSource::Template(tid), &tpl.draft()).await.unwrap();
    let b = builtin("mobile_phone").unwrap();
    let r2 = checklists::start_run(&mut tx, &actor(), &a, RunSource::Builtin(b.key), &b.draft("fr")).await.unwrap();
    tx.commit().await.unwrap();

    // Seven mandatory steps are open: 1 of the template, 6 of the built-in.
    let mut c = store.read().await.unwrap();
    let open = checklists::handover_blockers(&mut c, phone).await.unwrap();
    assert_eq!(open.len(), 7, "{open:?}");
    assert_eq!(open[0].label, "Coller l'étiquette");
    assert_eq!(open[1].label, "Mettre Android à jour");
    drop(c);

    // The hand-over is refused, and nothing is written.
    let mut tx = store.write().await.unwrap();
    let mut d = a.to_draft();
    d.status = AssetStatus::InUse;
    d.comment = Some("remis à l'accueil".into());
    let e = assets::update(&mut tx, &actor(), store.cipher(), &a, &d).await.unwrap_err();
    let StoreError::Validation(v) = e else { panic!("{e:?}") };
    let f = v.for_field("status").unwrap();
    assert_eq!(f.code, "checklist_open");
    assert!(f.message.contains("Coller l'étiquette"), "{}", f.message);
    drop(tx);
    let mut c = store.read().await.unwrap();
    let now = assets::get(&mut c, phone).await.unwrap().unwrap();
    assert_eq!((now.status, now.comment), (AssetStatus::InStock, None));
    // Other changes than the hand-over go through.
    drop(c);
    let mut tx = store.write().await.unwrap();
    let mut d2 = a.to_draft();
    d2.status = AssetStatus::InRepair;
    assets::update(&mut tx, &actor(), store.cipher(), &a, &d2).await.unwrap();
    drop(tx);

    // Ticking: a value step needs its value; a photo step its photo.
    let mut tx = store.write().await.unwrap();
    let run1 = checklists::run(&mut tx, r1).await.unwrap().unwrap();
    let label_step = run1.steps[1].id;
    let e = checklists::tick(&mut tx, &actor(), &a, &run1, label_step, &TickInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(ref v) if v.fields[0].field == "value"), "{e:?}");
    let s = checklists::tick(
        &mut tx,
        &actor(),
        &a,
        &run1,
        label_step,
        &TickInput { value: Some(" INV-2026-001 ".into()), photo: None },
    )
    .await
    .unwrap();
    assert!(s.done);
    assert_eq!(s.value.as_deref(), Some("INV-2026-001"));
    assert_eq!(s.done_by_label.as_deref(), Some("tech.alice"));
    assert!(s.done_at.is_some());
    // A step of another run is not found through this one.
    let run2 = checklists::run(&mut tx, r2).await.unwrap().unwrap();
    let e = checklists::tick(&mut tx, &actor(), &a, &run1, run2.steps[0].id, &TickInput::default()).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound), "{e:?}");
    // The built-in: Android version, icons, wallpaper (photo), protector (photo), store, mailbox.
    for st in &run2.steps {
        let photo = (st.evidence == parc_core::checklists::Evidence::Photo).then_some(Photo {
            filename: "ecran.png",
            content_type: "image/png",
            content: PNG,
        });
        let value = (st.evidence == parc_core::checklists::Evidence::Value).then(|| "14".to_owned());
        if st.evidence == parc_core::checklists::Evidence::Photo {
            let e = checklists::tick(&mut tx, &actor(), &a, &run2, st.id, &TickInput::default()).await.unwrap_err();
            assert!(matches!(e, StoreError::Validation(ref v) if v.fields[0].field == "photo"), "{e:?}");
        }
        checklists::tick(&mut tx, &actor(), &a, &run2, st.id, &TickInput { value, photo }).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut c = store.read().await.unwrap();
    assert!(checklists::handover_blockers(&mut c, phone).await.unwrap().is_empty());
    let runs = checklists::runs_of(&mut c, phone).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.completed_at.is_some() && r.open_mandatory == 0), "{runs:?}");
    // The optional step of the template stays open and blocks nothing.
    let run1 = runs.iter().find(|r| r.id == r1).unwrap();
    assert_eq!(run1.done_count, 1);
    let wallpaper = &runs.iter().find(|r| r.id == r2).unwrap().steps[2];
    assert!(wallpaper.photo_document_id.is_some());
    assert_eq!(wallpaper.photo_sha256.as_ref().map(String::len), Some(64));
    // Every tick is in the asset's history with who, when, the step and the value.
    let history = audit::for_object(&mut c, ObjectType::Asset, phone.0, 100).await.unwrap();
    let ticks: Vec<_> = history.iter().filter(|e| e.action == "checklist").collect();
    assert_eq!(ticks.len(), 2 + 7, "two starts and seven ticks");
    assert!(ticks.iter().all(|e| e.actor_label == "tech.alice" && !e.at.is_empty()));
    let label_tick = ticks
        .iter()
        .find(|e| e.changes.iter().any(|ch| ch.new.as_deref().is_some_and(|n| n.contains("Coller l'étiquette"))))
        .unwrap();
    assert!(label_tick
        .changes
        .iter()
        .any(|ch| ch.field == "checklist_value" && ch.new.as_deref() == Some("INV-2026-001")));
    assert!(ticks.iter().any(|e| e
        .changes
        .iter()
        .any(|ch| ch.field == "checklist_photo" && ch.new.as_deref() == wallpaper.photo_sha256.as_deref())));
    drop(c);

    // Un-ticking a mandatory step gates the hand-over again, and is audited.
    let mut tx = store.write().await.unwrap();
    let a = assets::get(&mut tx, phone).await.unwrap().unwrap();
    let run1 = checklists::run(&mut tx, r1).await.unwrap().unwrap();
    let s = checklists::untick(&mut tx, &actor(), &a, &run1, label_step).await.unwrap();
    assert!(!s.done && s.value.is_none() && s.done_by_label.is_none());
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let mut d = a.to_draft();
    d.status = AssetStatus::InUse;
    let e = assets::update(&mut tx, &actor(), store.cipher(), &a, &d).await.unwrap_err();
    assert!(matches!(e, StoreError::Validation(ref v) if v.fields[0].code == "checklist_open"), "{e:?}");
    drop(tx);

    // Editing the template does not change the run's copy; ticking again opens the gate.
    let mut tx = store.write().await.unwrap();
    let mut edited = t_in.clone();
    edited.steps.push(StepInput { label: Some("Nouvelle étape".into()), mandatory: true, ..Default::default() });
    checklists::update_template(&mut tx, &actor(), &tpl, &edited.validate().unwrap()).await.unwrap();
    assert_eq!(checklists::template(&mut tx, tid).await.unwrap().unwrap().steps.len(), 3);
    let run1 = checklists::run(&mut tx, r1).await.unwrap().unwrap();
    assert_eq!(run1.steps.len(), 2);
    assert!(run1.completed_at.is_none());
    let tick = TickInput { value: Some("INV-2026-001".into()), photo: None };
    checklists::tick(&mut tx, &actor(), &a, &run1, label_step, &tick).await.unwrap();
    let mut d = a.to_draft();
    d.status = AssetStatus::InUse;
    assets::update(&mut tx, &actor(), store.cipher(), &a, &d).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = store.read().await.unwrap();
    assert_eq!(assets::get(&mut c, phone).await.unwrap().unwrap().status, AssetStatus::InUse);
    drop(c);

    // A run started on an asset already in use does not undo its status; abandoning a run
    // lifts its gate. Deleting the template keeps the runs.
    let mut tx = store.write().await.unwrap();
    let a = assets::get(&mut tx, phone).await.unwrap().unwrap();
    let mut d = a.to_draft();
    d.status = AssetStatus::InStock;
    assets::update(&mut tx, &actor(), store.cipher(), &a, &d).await.unwrap();
    let a = assets::get(&mut tx, phone).await.unwrap().unwrap();
    let tpl = checklists::template(&mut tx, tid).await.unwrap().unwrap();
    let r3 = checklists::start_run(&mut tx, &actor(), &a, RunSource::Template(tid), &tpl.draft()).await.unwrap();
    assert_eq!(checklists::handover_blockers(&mut tx, phone).await.unwrap().len(), 2);
    let run3 = checklists::run(&mut tx, r3).await.unwrap().unwrap();
    checklists::delete_run(&mut tx, &actor(), &a, &run3).await.unwrap();
    assert!(checklists::handover_blockers(&mut tx, phone).await.unwrap().is_empty());
    checklists::delete_template(&mut tx, &actor(), &tpl).await.unwrap();
    let runs = checklists::runs_of(&mut tx, phone).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.template_id.is_none() || r.builtin_key.is_some()));
    // Deleting the asset takes its runs along.
    assets::delete(&mut tx, &actor(), &a).await.unwrap();
    assert!(checklists::run(&mut tx, r1).await.unwrap().is_none());
    tx.commit().await.unwrap();
}

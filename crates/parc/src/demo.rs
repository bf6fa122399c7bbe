//! `parc demo`: loads a realistic sample organisation into an empty database, so that a new
//! user can try every screen with believable data.
//!
//! Under the root entity it builds two authorities that share the instance:
//! - the county council "Département du Val-Fleuri" with its services (DSI, Direction des
//!   collèges) and three public schools (collèges), each its own entity;
//! - the town hall "Mairie de Saint-Aubin" with five services.
//!
//! Every location is site > building > room; every user profile appears at least once; about
//! 360 assets of every kind follow the network plan of the product brief:
//!
//! | VLAN | subnet | use |
//! | --- | --- | --- |
//! | 1 | 192.168.201.0/24 | servers (.10 up), switch management (.240 up) |
//! | 2 | 192.168.202.0/24 | library servers |
//! | 9 | 192.168.209.0/24 | printers |
//! | 210-215 | 192.168.210-215.0/24 | town hall services (Mairie, Accueil, État civil, Services techniques, Médiathèque, Police municipale) |
//! | 220-222 | 192.168.220-222.0/24 | county services (Hôtel du Département, DSI, Direction des collèges) |
//! | 230-232 | 192.168.230-232.0/24 | the three collèges (switches .2-.3, server .5, computers from .20) |
//! | 2500 | DHCP | public terminals of the library |
//!
//! The helpdesk gets a category tree, a support group per authority, anonymous QR reports in the
//! schools and the library, and eight tickets at every stage of their life (two with an on-site
//! appointment next Monday).
//!
//! The content is deterministic (a seeded generator; only the tickets' dates follow the clock):
//! IMEIs, ICCIDs, serials and MAC addresses are unique and valid (Luhn check digits computed). Everything is written in ONE
//! transaction through the same validation and audit as the user interface.

use anyhow::{bail, Context, Result};
use parc_core::assets::{AssetInput, AssetKind, AssetStatus, LineType, SpecificField};
use parc_core::locations::LocationKind;
use parc_core::permissions::{Grant, Profile, Scope};
use parc_core::{AssetId, EntityId, LocationId, UserId};
use parc_store::entities::EntityInput;
use parc_store::locations::LocationInput;
use parc_store::users::UserInput;
use parc_store::{Actor, Cipher, Store, Tx};
use std::collections::HashMap;

/// What was loaded, for the command line to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub entities: usize,
    pub locations: usize,
    pub users: usize,
    pub assets: usize,
    pub password: String,
}

/// The county's name, also the organisation name when it was still the default.
pub const COUNTY_NAME: &str = "Département du Val-Fleuri";
/// The hotline number printed on labels.
pub const HOTLINE_NUMBER: &str = "7000";

/// Loads the sample organisation under `root` (the entity created at first start). Refused when
/// the database already holds any asset. All or nothing: one write transaction, audited as
/// `demo`. Every demo user gets `password`.
pub async fn load(store: &Store, root: EntityId, password: &str) -> Result<DemoSummary> {
    if password.is_empty() {
        bail!("the demo users' password must not be empty");
    }
    // argon2 is slow: hash once, off the async threads, and give every demo user the same hash.
    let pw = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || parc_store::secrets::hash_password(&pw))
        .await
        .context("password hashing task failed")??;

    let mut tx = store.write().await?;
    if parc_store::entities::get(&mut tx, root).await?.is_none() {
        bail!("the root entity #{root} does not exist");
    }
    let existing = count_assets(&mut tx).await?;
    if existing > 0 {
        bail!("the database already holds {existing} asset(s): demo data is only loaded into an empty database");
    }

    let mut b = Builder {
        tx,
        actor: Actor::system("demo"),
        cipher: store.cipher(),
        hash,
        rng: Lcg(0x5eed_0f7a_12c0_11e9),
        root,
        orgs: HashMap::new(),
        users: HashMap::new(),
        hosts: HashMap::new(),
        mobiles: HashMap::new(),
        seq: Seq::default(),
        entities: 0,
        locations: 0,
        assets: 0,
        by_name: HashMap::new(),
    };
    b.entities().await?;
    b.users().await?;
    b.county().await?;
    b.dsi().await?;
    b.colleges_direction().await?;
    for s in SCHOOLS {
        b.school(s).await?;
    }
    b.town_hall().await?;
    b.town_services().await?;
    b.settings().await?;
    b.inventories().await?;
    b.helpdesk().await?;
    b.monitoring().await?;

    let summary = DemoSummary {
        entities: b.entities,
        locations: b.locations,
        users: b.users.len(),
        assets: b.assets,
        password: password.to_owned(),
    };
    b.tx.commit().await?;
    Ok(summary)
}

/// How many assets the database holds, in any entity.
async fn count_assets(c: &mut parc_store::Conn) -> Result<i64> {
    let all = parc_store::entities::list_all(c).await?;
    let scope = Scope { full: all.iter().map(|e| e.id).collect(), own_only: Default::default() };
    let counts = parc_store::assets::counts(c, &scope, UserId(0)).await?;
    Ok(counts.iter().map(|(_, _, n)| n).sum())
}

// ---------------------------------------------------------------------------------------------
// The organisation: entities, locations, users.
// ---------------------------------------------------------------------------------------------

/// The demo's entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum E {
    Root,
    Dep,
    Dsi,
    Dc,
    Jm,
    Mc,
    Lm,
    Hdv,
    Acc,
    Ec,
    St,
    Med,
    Pm,
}

impl E {
    /// Whether the entity belongs to the town hall (its PBX, operator and mail domain).
    fn is_town(self) -> bool {
        matches!(self, E::Hdv | E::Acc | E::Ec | E::St | E::Med | E::Pm)
    }

    fn is_school(self) -> bool {
        matches!(self, E::Jm | E::Mc | E::Lm)
    }
}

type Buildings = &'static [(&'static str, &'static [&'static str])];

struct SiteSpec {
    name: &'static str,
    address: &'static str,
    buildings: Buildings,
}

struct OrgSpec {
    e: E,
    parent: E,
    name: &'static str,
    comment: &'static str,
    /// Prefix of asset names, e.g. "JM" in "JM-CDI-PC01".
    code: &'static str,
    /// Third octet of the service's subnet 192.168.x.0/24 (VLAN x).
    net: u8,
    sites: &'static [SiteSpec],
}

const SCHOOL_BUILDINGS: Buildings = &[
    ("Bâtiment A", &["CDI", "Salle 101", "Salle informatique", "Vie scolaire", "Secrétariat", "Bureau du principal"]),
    ("Bâtiment B", &["Salle 201", "Salle de technologie", "Salle des professeurs", "Local technique"]),
];

const HOTEL_DEPARTEMENT: &str = "Hôtel du Département";
const HOTEL_DEPARTEMENT_ADDRESS: &str = "1 place de l'Hôtel du Département, 03100 Val-Fleuri";
const HOTEL_DE_VILLE: &str = "Hôtel de ville";
const HOTEL_DE_VILLE_ADDRESS: &str = "Place de la République, 03300 Saint-Aubin";

const ORGS: &[OrgSpec] = &[
    OrgSpec {
        e: E::Dep,
        parent: E::Root,
        name: COUNTY_NAME,
        comment: "Conseil départemental : services centraux à l'Hôtel du Département et collèges publics.",
        code: "DEP",
        net: 220,
        sites: &[SiteSpec {
            name: HOTEL_DEPARTEMENT,
            address: HOTEL_DEPARTEMENT_ADDRESS,
            buildings: &[("Bâtiment A", &["Accueil", "Cabinet du président", "Salle des assemblées"])],
        }],
    },
    OrgSpec {
        e: E::Dsi,
        parent: E::Dep,
        name: "DSI",
        comment: "Direction des systèmes d'information : hotline 7000, techniciens, salle serveurs.",
        code: "DSI",
        net: 221,
        sites: &[SiteSpec {
            name: HOTEL_DEPARTEMENT,
            address: HOTEL_DEPARTEMENT_ADDRESS,
            buildings: &[("Bâtiment B", &["Salle serveurs", "Bureau DSI", "Atelier", "Stock"])],
        }],
    },
    OrgSpec {
        e: E::Dc,
        parent: E::Dep,
        name: "Direction des collèges",
        comment: "Direction de l'éducation et des collèges : équipement numérique des établissements.",
        code: "DC",
        net: 222,
        sites: &[SiteSpec {
            name: HOTEL_DEPARTEMENT,
            address: HOTEL_DEPARTEMENT_ADDRESS,
            buildings: &[("Bâtiment A", &["Bureaux 2e étage", "Salle de réunion"])],
        }],
    },
    OrgSpec {
        e: E::Jm,
        parent: E::Dep,
        name: "Collège Jean Moulin",
        comment: "Collège public, 540 élèves. RNE 0031234A.",
        code: "JM",
        net: 230,
        sites: &[SiteSpec {
            name: "Site principal",
            address: "12 rue Jean Moulin, 03100 Val-Fleuri",
            buildings: SCHOOL_BUILDINGS,
        }],
    },
    OrgSpec {
        e: E::Mc,
        parent: E::Dep,
        name: "Collège Marie Curie",
        comment: "Collège public, 410 élèves. RNE 0031235B.",
        code: "MC",
        net: 231,
        sites: &[SiteSpec {
            name: "Site principal",
            address: "5 avenue Marie Curie, 03200 Bourg-la-Forêt",
            buildings: SCHOOL_BUILDINGS,
        }],
    },
    OrgSpec {
        e: E::Lm,
        parent: E::Dep,
        name: "Collège Louise Michel",
        comment: "Collège public, 380 élèves. RNE 0031236C. Salle informatique à renouveler.",
        code: "LM",
        net: 232,
        sites: &[SiteSpec {
            name: "Site principal",
            address: "20 rue Louise Michel, 03300 Saint-Aubin",
            buildings: SCHOOL_BUILDINGS,
        }],
    },
    OrgSpec {
        e: E::Hdv,
        parent: E::Root,
        name: "Mairie de Saint-Aubin",
        comment: "Ville de Saint-Aubin : service informatique et télécoms, direction générale, cabinet du maire.",
        code: "HDV",
        net: 210,
        sites: &[SiteSpec {
            name: HOTEL_DE_VILLE,
            address: HOTEL_DE_VILLE_ADDRESS,
            buildings: &[(
                "Bâtiment principal",
                &[
                    "Salle serveurs",
                    "Bureau du maire",
                    "Direction générale",
                    "Salle du conseil",
                    "Bureau informatique",
                    "Stock informatique",
                ],
            )],
        }],
    },
    OrgSpec {
        e: E::Acc,
        parent: E::Hdv,
        name: "Accueil",
        comment: "Accueil général de l'hôtel de ville.",
        code: "ACC",
        net: 211,
        sites: &[SiteSpec {
            name: HOTEL_DE_VILLE,
            address: HOTEL_DE_VILLE_ADDRESS,
            buildings: &[("Bâtiment principal", &["Hall d'accueil", "Bureau accueil"])],
        }],
    },
    OrgSpec {
        e: E::Ec,
        parent: E::Hdv,
        name: "État civil",
        comment: "État civil, élections, cartes d'identité et passeports.",
        code: "EC",
        net: 212,
        sites: &[SiteSpec {
            name: HOTEL_DE_VILLE,
            address: HOTEL_DE_VILLE_ADDRESS,
            buildings: &[("Bâtiment principal", &["Guichets état civil", "Archives"])],
        }],
    },
    OrgSpec {
        e: E::St,
        parent: E::Hdv,
        name: "Services techniques",
        comment: "Voirie, bâtiments, espaces verts ; astreinte technique.",
        code: "ST",
        net: 213,
        sites: &[SiteSpec {
            name: "Centre technique municipal",
            address: "ZA des Prés, 03300 Saint-Aubin",
            buildings: &[("Bâtiment administratif", &["Bureau", "Magasin"]), ("Ateliers", &["Atelier mécanique"])],
        }],
    },
    OrgSpec {
        e: E::Med,
        parent: E::Hdv,
        name: "Médiathèque",
        comment: "Médiathèque Jules Verne : prêt, espace public numérique.",
        code: "MED",
        net: 214,
        sites: &[SiteSpec {
            name: "Médiathèque Jules Verne",
            address: "8 rue des Écoles, 03300 Saint-Aubin",
            buildings: &[(
                "Bâtiment principal",
                &["Espace public numérique", "Banque de prêt", "Bureau", "Local serveur"],
            )],
        }],
    },
    OrgSpec {
        e: E::Pm,
        parent: E::Hdv,
        name: "Police municipale",
        comment: "Poste de police municipale.",
        code: "PM",
        net: 215,
        sites: &[SiteSpec {
            name: "Poste de police municipale",
            address: "3 rue de la Gare, 03300 Saint-Aubin",
            buildings: &[(
                "Bâtiment principal",
                &["Accueil du poste", "Bureau du chef de poste", "Salle de rédaction"],
            )],
        }],
    },
];

struct UserSpec {
    login: &'static str,
    name: &'static str,
    e: E,
    /// Desk extension; the user's phone number is derived from it.
    ext: Option<u16>,
    grants: &'static [(E, Profile, bool)],
}

const fn u(
    login: &'static str,
    name: &'static str,
    e: E,
    ext: Option<u16>,
    grants: &'static [(E, Profile, bool)],
) -> UserSpec {
    UserSpec { login, name, e, ext, grants }
}

use Profile::{Admin, Hotline, Observer, Requester, SuperAdmin, Technician};

#[rustfmt::skip]
const USERS: &[UserSpec] = &[
    // County council: DSI and Direction des collèges.
    u("chef.dsi", "Sophie Marchand", E::Dsi, Some(3001), &[(E::Root, SuperAdmin, true)]),
    u("admin.departement", "Laurent Girard", E::Dsi, Some(3002), &[(E::Dep, Admin, true)]),
    u("tech.dsi", "Karim Benali", E::Dsi, Some(3003), &[(E::Dep, Technician, true)]),
    u("hotline", "Nathalie Perrin", E::Dsi, Some(7000), &[(E::Dep, Hotline, true)]),
    u("dir.colleges", "Bernard Lefèvre", E::Dc, Some(3010), &[(E::Dep, Observer, true)]),
    u("tech.colleges", "Julie Fontaine", E::Dc, Some(3011), &[(E::Dc, Technician, false), (E::Jm, Technician, false), (E::Mc, Technician, false), (E::Lm, Technician, false)]),
    u("m.gauthier", "Martine Gauthier", E::Dc, Some(3012), &[(E::Dc, Requester, false)]),
    u("a.lambert", "Aurélie Lambert", E::Dep, Some(3000), &[(E::Dep, Requester, false)]),
    // Collège Jean Moulin.
    u("principal.jeanmoulin", "Catherine Roux", E::Jm, Some(4101), &[(E::Jm, Observer, false)]),
    u("cpe.jeanmoulin", "Sandrine Vidal", E::Jm, Some(4102), &[(E::Jm, Requester, false)]),
    u("t.bernard", "Thomas Bernard", E::Jm, None, &[(E::Jm, Requester, false)]),
    u("c.petit", "Claire Petit", E::Jm, None, &[(E::Jm, Requester, false)]),
    u("m.haddad", "Mehdi Haddad", E::Jm, None, &[(E::Jm, Requester, false)]),
    // Collège Marie Curie.
    u("principal.mariecurie", "Olivier Mercier", E::Mc, Some(4201), &[(E::Mc, Observer, false)]),
    u("cpe.mariecurie", "Nadège Colin", E::Mc, Some(4202), &[(E::Mc, Requester, false)]),
    u("i.robert", "Isabelle Robert", E::Mc, None, &[(E::Mc, Requester, false)]),
    u("n.richard", "Nicolas Richard", E::Mc, None, &[(E::Mc, Requester, false)]),
    u("f.ouali", "Fatima Ouali", E::Mc, None, &[(E::Mc, Requester, false)]),
    // Collège Louise Michel.
    u("principal.louisemichel", "Hélène Dubois", E::Lm, Some(4301), &[(E::Lm, Observer, false)]),
    u("cpe.louisemichel", "Xavier Barbier", E::Lm, Some(4302), &[(E::Lm, Requester, false)]),
    u("p.durand", "Pierre Durand", E::Lm, None, &[(E::Lm, Requester, false)]),
    u("e.leroy", "Émilie Leroy", E::Lm, None, &[(E::Lm, Requester, false)]),
    u("a.morel", "Antoine Morel", E::Lm, None, &[(E::Lm, Requester, false)]),
    // Town hall.
    u("admin.mairie", "Vincent Rousseau", E::Hdv, Some(1010), &[(E::Hdv, Admin, true)]),
    u("tech.mairie", "Mathieu Blanc", E::Hdv, Some(1011), &[(E::Hdv, Technician, true)]),
    u("tech.telecom", "Yannick Guérin", E::Hdv, Some(1012), &[(E::Hdv, Technician, true)]),
    u("hotline.mairie", "Sylvie Bonnet", E::Hdv, Some(7777), &[(E::Hdv, Hotline, true)]),
    u("dgs.mairie", "Anne Lemaire", E::Hdv, Some(1002), &[(E::Hdv, Observer, true)]),
    u("maire", "Jean-Pierre Faure", E::Hdv, Some(1001), &[(E::Hdv, Requester, false)]),
    u("m.lambert", "Marie Lambert", E::Acc, Some(1014), &[(E::Acc, Requester, false)]),
    u("c.chevalier", "Christine Chevalier", E::Ec, Some(1020), &[(E::Ec, Requester, false)]),
    u("n.henry", "Nadia Henry", E::Ec, Some(1021), &[(E::Ec, Requester, false)]),
    u("p.garnier", "Patrick Garnier", E::St, Some(1030), &[(E::St, Requester, false)]),
    u("r.masson", "Romain Masson", E::St, Some(1031), &[(E::St, Requester, false)]),
    u("i.moreau", "Inès Moreau", E::Med, Some(1040), &[(E::Med, Requester, false)]),
    u("l.roussel", "Laurent Roussel", E::Pm, Some(1050), &[(E::Pm, Requester, false)]),
    u("k.diallo", "Kevin Diallo", E::Pm, Some(1051), &[(E::Pm, Requester, false)]),
];

/// Each school's particulars; the rest of a school's equipment follows one pattern.
struct SchoolSpec {
    e: E,
    principal: &'static str,
    cpe: &'static str,
    teachers: [&'static str; 3],
    /// The computer room's machines, all bought together.
    lab: &'static Model,
    lab_year: i32,
    /// The lab's monitors (none for all-in-one machines).
    lab_screen: Option<&'static Model>,
    tablet: &'static Model,
    /// Extensions of the secretariat and of the fax line's external number.
    secretariat_ext: u16,
    fax: &'static str,
}

const SCHOOLS: &[SchoolSpec] = &[
    SchoolSpec {
        e: E::Jm,
        principal: "principal.jeanmoulin",
        cpe: "cpe.jeanmoulin",
        teachers: ["t.bernard", "c.petit", "m.haddad"],
        lab: &DELL_OPTIPLEX_AIO,
        lab_year: 2024,
        lab_screen: None,
        tablet: &IPAD_9,
        secretariat_ext: 4100,
        fax: "04 70 45 12 39",
    },
    SchoolSpec {
        e: E::Mc,
        principal: "principal.mariecurie",
        cpe: "cpe.mariecurie",
        teachers: ["i.robert", "n.richard", "f.ouali"],
        lab: &HP_PROONE_440,
        lab_year: 2022,
        lab_screen: None,
        tablet: &GALAXY_TAB_A8,
        secretariat_ext: 4200,
        fax: "04 70 52 33 18",
    },
    SchoolSpec {
        e: E::Lm,
        principal: "principal.louisemichel",
        cpe: "cpe.louisemichel",
        teachers: ["p.durand", "e.leroy", "a.morel"],
        lab: &LENOVO_M720S,
        lab_year: 2018,
        lab_screen: Some(&IIYAMA_XU2493),
        tablet: &IPAD_9,
        secretariat_ext: 4300,
        fax: "04 70 61 08 84",
    },
];

// ---------------------------------------------------------------------------------------------
// The catalogue of models.
// ---------------------------------------------------------------------------------------------

/// A model as bought, with how its identifiers look.
#[derive(Debug)]
struct Model {
    maker: &'static str,
    name: &'static str,
    /// Serial numbers: this prefix, then generated characters up to `serial_len` in total.
    serial_prefix: &'static str,
    serial_len: usize,
    /// The MAC vendor prefix (OUI, "aa:bb:cc") of network kinds, or the 8-digit type
    /// allocation code (TAC) starting the IMEI of mobile kinds; empty when neither applies.
    ident: &'static str,
    supplier: &'static str,
    warranty_years: i32,
}

const fn model(
    maker: &'static str,
    name: &'static str,
    serial: (&'static str, usize),
    ident: &'static str,
    supplier: &'static str,
    warranty_years: i32,
) -> Model {
    Model { maker, name, serial_prefix: serial.0, serial_len: serial.1, ident, supplier, warranty_years }
}

/// The models the demo buys, one a line.
#[rustfmt::skip]
mod catalogue {
    use super::{model, Model};

    pub(super) const DELL_OUI: &str = "18:66:da";
    pub(super) const HP_OUI: &str = "3c:52:82";
    pub(super) const LENOVO_OUI: &str = "54:e1:ad";
    // Computers.
    pub(super) const DELL_OPTIPLEX_7010: Model = model("Dell", "OptiPlex 7010 SFF", ("", 7), DELL_OUI, "UGAP", 5);
    pub(super) const DELL_OPTIPLEX_5090: Model = model("Dell", "OptiPlex 5090 Micro", ("", 7), DELL_OUI, "UGAP", 5);
    pub(super) const DELL_OPTIPLEX_3050: Model = model("Dell", "OptiPlex 3050 SFF", ("", 7), DELL_OUI, "UGAP", 3);
    pub(super) const DELL_OPTIPLEX_AIO: Model = model("Dell", "OptiPlex 7410 All-in-One", ("", 7), DELL_OUI, "UGAP", 5);
    pub(super) const HP_PRODESK_400: Model = model("HP", "ProDesk 400 G7 SFF", ("CZC", 10), HP_OUI, "Econocom", 5);
    pub(super) const HP_PROONE_440: Model = model("HP", "ProOne 440 G9 All-in-One", ("CZC", 10), HP_OUI, "Econocom", 5);
    pub(super) const HP_ELITEDESK_800: Model = model("HP", "EliteDesk 800 G6 Mini", ("CZC", 10), HP_OUI, "Econocom", 5);
    pub(super) const LENOVO_M720S: Model = model("Lenovo", "ThinkCentre M720s", ("MJ", 8), LENOVO_OUI, "UGAP", 5);
    pub(super) const LENOVO_M70Q: Model = model("Lenovo", "ThinkCentre M70q Gen 3", ("MJ", 8), LENOVO_OUI, "UGAP", 5);
    pub(super) const LENOVO_M700: Model = model("Lenovo", "ThinkCentre M700 Tiny", ("MJ", 8), LENOVO_OUI, "UGAP", 3);
    pub(super) const DELL_LATITUDE_5540: Model = model("Dell", "Latitude 5540", ("", 7), DELL_OUI, "Dell", 3);
    pub(super) const DELL_LATITUDE_7440: Model = model("Dell", "Latitude 7440", ("", 7), DELL_OUI, "Dell", 3);
    pub(super) const HP_PROBOOK_450: Model = model("HP", "ProBook 450 G9", ("5CD", 10), HP_OUI, "Econocom", 3);
    pub(super) const LENOVO_THINKPAD_E14: Model = model("Lenovo", "ThinkPad E14 Gen 5", ("PF", 8), LENOVO_OUI, "UGAP", 3);
    // Servers.
    pub(super) const POWEREDGE_R750: Model = model("Dell", "PowerEdge R750", ("", 7), DELL_OUI, "Dell", 5);
    pub(super) const POWEREDGE_R650: Model = model("Dell", "PowerEdge R650", ("", 7), DELL_OUI, "Dell", 5);
    pub(super) const POWEREDGE_R740XD: Model = model("Dell", "PowerEdge R740xd", ("", 7), DELL_OUI, "Dell", 5);
    pub(super) const POWEREDGE_R540: Model = model("Dell", "PowerEdge R540", ("", 7), DELL_OUI, "Dell", 5);
    pub(super) const POWEREDGE_T150: Model = model("Dell", "PowerEdge T150", ("", 7), DELL_OUI, "UGAP", 5);
    pub(super) const POWEREDGE_R720: Model = model("Dell", "PowerEdge R720", ("", 7), DELL_OUI, "Dell", 3);
    // Monitors.
    pub(super) const DELL_P2422H: Model = model("Dell", "P2422H", ("CN0", 12), "", "UGAP", 3);
    pub(super) const IIYAMA_XU2493: Model = model("iiyama", "ProLite XU2493HS-B5", ("11", 12), "", "UGAP", 3);
    pub(super) const HP_E24: Model = model("HP", "E24 G5", ("CNK", 10), "", "Econocom", 3);
    pub(super) const LENOVO_T24I: Model = model("Lenovo", "ThinkVision T24i-30", ("V5", 8), "", "UGAP", 3);
    pub(super) const SAMSUNG_S24: Model = model("Samsung", "S24R650FDU", ("H4ZR", 14), "", "UGAP", 2);
    // Printers.
    pub(super) const HP_M404: Model = model("HP", "LaserJet Pro M404dn", ("PHB", 10), HP_OUI, "UGAP", 3);
    pub(super) const HP_M507: Model = model("HP", "LaserJet Enterprise M507dn", ("PHB", 10), HP_OUI, "UGAP", 3);
    pub(super) const HP_M479: Model = model("HP", "Color LaserJet Pro MFP M479fdw", ("CNB", 10), HP_OUI, "UGAP", 3);
    pub(super) const BROTHER_HL: Model = model("Brother", "HL-L5100DN", ("E7", 15), "00:80:77", "UGAP", 3);
    pub(super) const BROTHER_MFC: Model = model("Brother", "MFC-L8690CDW", ("E7", 15), "00:80:77", "UGAP", 3);
    pub(super) const KYOCERA_M3645: Model = model("Kyocera", "ECOSYS M3645idn", ("VCF", 10), "00:c0:ee", "Econocom", 5);
    pub(super) const KYOCERA_TASKALFA: Model = model("Kyocera", "TASKalfa 2553ci", ("W4J", 10), "00:c0:ee", "Econocom", 5);
    // Network equipment.
    pub(super) const CISCO_9300: Model = model("Cisco", "Catalyst 9300-48P", ("FOC", 11), "70:0f:6a", "Econocom", 5);
    pub(super) const CISCO_2960X: Model = model("Cisco", "Catalyst 2960-X 48FPD-L", ("FOC", 11), "70:0f:6a", "Econocom", 5);
    pub(super) const ARUBA_2930F: Model = model("HPE Aruba", "2930F 48G PoE+ 4SFP+ (JL256A)", ("CN", 10), "94:f1:28", "UGAP", 5);
    pub(super) const ARUBA_2530: Model = model("HPE Aruba", "2530 24G (J9776A)", ("CN", 10), "94:f1:28", "UGAP", 5);
    pub(super) const HPE_1920S: Model = model("HPE", "OfficeConnect 1920S 24G (JL381A)", ("CN", 10), "94:f1:28", "UGAP", 5);
    // Desk phones.
    pub(super) const ALE_8068S: Model = model("Alcatel-Lucent Enterprise", "8068s Premium DeskPhone", ("FCN", 11), "00:80:9f", "Orange Business", 3);
    pub(super) const ALE_8029S: Model = model("Alcatel-Lucent Enterprise", "8029s Premium DeskPhone (numérique)", ("FCN", 11), "", "Orange Business", 3);
    pub(super) const ALCATEL_TEMPORIS: Model = model("Alcatel", "Temporis 380 (analogique)", ("T38", 10), "", "Manutan Collectivités", 2);
    pub(super) const YEALINK_T54W: Model = model("Yealink", "SIP-T54W", ("8010", 16), "80:5e:c0", "UGAP", 2);
    pub(super) const YEALINK_T33G: Model = model("Yealink", "SIP-T33G", ("8010", 16), "80:5e:c0", "UGAP", 2);
    // Mobile phones and tablets (ident: type allocation code of the IMEI).
    pub(super) const GALAXY_A15: Model = model("Samsung", "Galaxy A15 (SM-A155F)", ("R58", 11), "35071925", "UGAP", 2);
    pub(super) const GALAXY_XCOVER7: Model = model("Samsung", "Galaxy XCover7 (SM-G556B)", ("R58", 11), "35283763", "UGAP", 3);
    pub(super) const IPHONE_SE: Model = model("Apple", "iPhone SE (3e génération)", ("F", 12), "35395611", "UGAP", 2);
    pub(super) const IPHONE_13: Model = model("Apple", "iPhone 13", ("F", 12), "35337212", "UGAP", 2);
    pub(super) const IPAD_9: Model = model("Apple", "iPad (9e génération) Wi-Fi + Cellular", ("DMP", 12), "35296513", "UGAP", 2);
    pub(super) const GALAXY_TAB_A8: Model = model("Samsung", "Galaxy Tab A8 LTE (SM-X205)", ("R9", 11), "35166429", "UGAP", 2);
    pub(super) const GALAXY_TAB_ACTIVE4: Model = model("Samsung", "Galaxy Tab Active4 Pro 5G", ("R9", 11), "35419874", "UGAP", 3);
    // Projectors.
    pub(super) const EPSON_695WI: Model = model("Epson", "EB-695Wi (interactif)", ("X4", 10), "", "UGAP", 3);
    pub(super) const EPSON_W51: Model = model("Epson", "EB-W51", ("X4", 10), "", "UGAP", 3);
    pub(super) const EPSON_L630U: Model = model("Epson", "EB-L630U", ("X9", 10), "", "Econocom", 5);
    pub(super) const BENQ_MW560: Model = model("BenQ", "MW560", ("PD", 10), "", "UGAP", 3);
    pub(super) const BENQ_TH575: Model = model("BenQ", "TH575", ("PD", 10), "", "UGAP", 3);
    // Peripherals.
    pub(super) const LOGITECH_C920: Model = model("Logitech", "C920 HD Pro Webcam", ("2", 12), "", "Manutan Collectivités", 2);
    pub(super) const LOGITECH_MEETUP: Model = model("Logitech", "MeetUp (barre de visioconférence)", ("2", 12), "", "Econocom", 2);
    pub(super) const FUJITSU_FI7160: Model = model("Fujitsu", "fi-7160 (scanner de documents)", ("A2", 10), "", "UGAP", 3);
    pub(super) const EPSON_DS530: Model = model("Epson", "WorkForce DS-530 II (scanner de documents)", ("X6", 10), "", "UGAP", 3);
    pub(super) const IPEVO_V4K: Model = model("IPEVO", "V4K (visualiseur)", ("V4K", 10), "", "Manutan Collectivités", 2);
    pub(super) const ZEBRA_DS2208: Model = model("Zebra", "DS2208 (douchette code-barres)", ("S21", 14), "", "Manutan Collectivités", 2);
    // SIM cards and lines (maker: the operator).
    pub(super) const SIM_ORANGE: Model = model("Orange", "Carte SIM 4G/5G triple découpe", ("", 0), "01", "Orange Business", 0);
    pub(super) const SIM_BOUYGUES: Model = model("Bouygues Telecom", "Carte SIM 4G/5G triple découpe", ("", 0), "20", "Bouygues Telecom Entreprises", 0);
    pub(super) const LINE_COUNTY: Model = model("Orange Business", "Business Talk (centrex IP)", ("", 0), "", "Orange Business", 0);
    pub(super) const LINE_TOWN: Model = model("Alcatel-Lucent Enterprise", "OmniPCX Enterprise", ("", 0), "", "Bouygues Telecom Entreprises", 0);
    pub(super) const MOBILE_LINE_COUNTY: Model = model("Orange", "Forfait mobile 4G/5G", ("", 0), "", "Orange Business", 0);
    pub(super) const MOBILE_LINE_TOWN: Model = model("Bouygues Telecom", "Forfait mobile 4G/5G", ("", 0), "", "Bouygues Telecom Entreprises", 0);
    pub(super) const OPERATOR_LINE_TOWN: Model = model("Orange", "Ligne opérateur", ("", 0), "", "Orange Business", 0);
}

use catalogue::*;

// ---------------------------------------------------------------------------------------------
// Deterministic generators.
// ---------------------------------------------------------------------------------------------

/// A 64-bit linear congruential generator (Knuth's MMIX constants): deterministic and good
/// enough to vary models and dates.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Counters that make identifiers unique across the whole demo.
#[derive(Default)]
struct Seq {
    tag: u32,
    serial: u64,
    mac: u32,
    imei: u64,
    iccid: u64,
    mobile: u64,
    printer: u8,
    infra: u8,
    switch: u8,
}

/// The Luhn check digit to append to `payload` (all ASCII digits).
fn luhn_digit(payload: &str) -> char {
    let d = parc_core::validate::luhn_check_digit(payload).expect("demo identifiers are digits");
    char::from(b'0' + d)
}

/// Crockford's base-32 alphabet (no I, L, O, U): serial numbers look like real ones.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A date as stored ("YYYY-MM-DD") and the same day `years` later.
#[derive(Debug, Clone, Copy)]
struct Day {
    y: i32,
    m: u32,
    d: u32,
}

impl Day {
    fn text(self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }

    fn plus_years(self, years: i32) -> Day {
        Day { y: self.y + years, ..self }
    }
}

fn st(s: AssetStatus) -> Option<String> {
    Some(s.as_str().to_owned())
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// "Sophie Marchand" -> "sophie.marchand" (accents dropped) for e-mail addresses.
fn mail_local(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => Some('e'),
            'à' | 'â' | 'À' => Some('a'),
            'ç' => Some('c'),
            'î' | 'ï' => Some('i'),
            'ô' => Some('o'),
            'ù' | 'û' | 'ü' => Some('u'),
            ' ' => Some('.'),
            '-' => Some('-'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The full phone number behind an extension.
fn phone_of(e: E, ext: u16) -> String {
    let (a, b) = (ext / 100, ext % 100);
    if e.is_town() {
        format!("04 73 55 {a:02} {b:02}")
    } else {
        format!("04 70 34 {a:02} {b:02}")
    }
}

// ---------------------------------------------------------------------------------------------
// The builder: one transaction, counters, and the helpers every part uses.
// ---------------------------------------------------------------------------------------------

struct Org {
    id: EntityId,
    code: &'static str,
    net: u8,
    rooms: HashMap<&'static str, LocationId>,
}

/// A desktop or laptop with its monitors, named `CODE-PLACE-PCnn` and `CODE-PLACE-ECRnn`.
struct Ws {
    e: E,
    room: &'static str,
    place: &'static str,
    n: u32,
    pc: &'static Model,
    screens: u32,
    screen: &'static Model,
    user: Option<&'static str>,
    bought: (i32, i32),
}

impl Ws {
    /// One computer and one monitor, unassigned.
    fn new(e: E, room: &'static str, place: &'static str, n: u32, pc: &'static Model, screen: &'static Model) -> Ws {
        Ws { e, room, place, n, pc, screens: 1, screen, user: None, bought: (2020, 2024) }
    }

    fn screens(self, screens: u32) -> Ws {
        Ws { screens, ..self }
    }

    /// The user it is assigned to.
    fn user(self, user: impl Into<Option<&'static str>>) -> Ws {
        Ws { user: user.into(), ..self }
    }

    /// Bought between these years (inclusive).
    fn bought(self, from: i32, to: i32) -> Ws {
        Ws { bought: (from, to), ..self }
    }
}

struct Builder<'a> {
    tx: Tx,
    actor: Actor,
    cipher: &'a Cipher,
    hash: String,
    rng: Lcg,
    root: EntityId,
    orgs: HashMap<E, Org>,
    users: HashMap<&'static str, UserId>,
    /// Last host number given in each service subnet.
    hosts: HashMap<E, u8>,
    /// Last mobile device number in each entity.
    mobiles: HashMap<E, u32>,
    seq: Seq,
    entities: usize,
    locations: usize,
    assets: usize,
    /// Every demo asset by name (the helpdesk's tickets link some).
    by_name: HashMap<String, AssetId>,
}

impl Builder<'_> {
    fn org(&self, e: E) -> Result<&Org> {
        self.orgs.get(&e).with_context(|| format!("demo: entity {e:?} not created yet"))
    }

    fn entity(&self, e: E) -> Result<EntityId> {
        if e == E::Root {
            return Ok(self.root);
        }
        Ok(self.org(e)?.id)
    }

    fn code(&self, e: E) -> Result<&'static str> {
        Ok(self.org(e)?.code)
    }

    fn room(&self, e: E, name: &str) -> Result<LocationId> {
        let org = self.org(e)?;
        org.rooms.get(name).copied().with_context(|| format!("demo: no room '{name}' in {}", org.code))
    }

    fn user(&self, login: &str) -> Result<UserId> {
        self.users.get(login).copied().with_context(|| format!("demo: no user '{login}'"))
    }

    // ---- identifiers ----

    /// The next address of a service subnet (computers from .20).
    fn host_ip(&mut self, e: E) -> Result<String> {
        let net = self.org(e)?.net;
        let h = self.hosts.entry(e).or_insert(19);
        *h += 1;
        if *h > 250 {
            bail!("demo: subnet 192.168.{net}.0/24 is full");
        }
        Ok(format!("192.168.{net}.{h}"))
    }

    /// The next printer address on VLAN 9.
    fn printer_ip(&mut self) -> String {
        self.seq.printer += 1;
        format!("192.168.209.{}", 10 + u32::from(self.seq.printer))
    }

    /// The next server address on VLAN 1.
    fn server_ip(&mut self) -> String {
        self.seq.infra += 1;
        format!("192.168.201.{}", 9 + u32::from(self.seq.infra))
    }

    /// The next switch management address on VLAN 1.
    fn switch_ip(&mut self) -> String {
        self.seq.switch += 1;
        format!("192.168.201.{}", 239 + u32::from(self.seq.switch))
    }

    fn next_tag(&mut self) -> String {
        self.seq.tag += 1;
        format!("GPI-{:06}", 100 + self.seq.tag)
    }

    /// A unique serial: the prefix, random filler, then six characters that encode a counter
    /// through a bijection of 0..2^30 (an odd multiplier modulo a power of two).
    fn serial(&mut self, m: &Model) -> String {
        self.seq.serial += 1;
        let unique = self.seq.serial.wrapping_mul(0x2545_F491).wrapping_add(0x1F3D_5B79) & ((1 << 30) - 1);
        let mut s = String::from(m.serial_prefix);
        let filler = m.serial_len.saturating_sub(m.serial_prefix.len() + 6);
        for _ in 0..filler {
            s.push(char::from(ALPHABET[self.rng.below(32) as usize]));
        }
        for i in (0..6).rev() {
            s.push(char::from(ALPHABET[((unique >> (5 * i)) & 31) as usize]));
        }
        s
    }

    /// A unique MAC address with the model's vendor prefix.
    fn mac(&mut self, oui: &str) -> String {
        self.seq.mac += 1;
        let low = self.seq.mac.wrapping_mul(0x009E_3779).wrapping_add(0x0012_3457) & 0x00FF_FFFF;
        format!("{oui}:{:02x}:{:02x}:{:02x}", low >> 16, (low >> 8) & 0xFF, low & 0xFF)
    }

    /// A unique, valid IMEI: the model's TAC, a 6-digit serial, the Luhn digit.
    fn imei(&mut self, tac: &str) -> String {
        self.seq.imei += 1;
        let serial = (self.seq.imei * 7_919 + 104_729) % 1_000_000;
        let payload = format!("{tac}{serial:06}");
        let check = luhn_digit(&payload);
        format!("{payload}{check}")
    }

    /// A unique, valid 19-digit French ICCID: 89 33, the operator code, 12 digits, Luhn digit.
    fn iccid(&mut self, operator: &str) -> String {
        self.seq.iccid += 1;
        let account = (self.seq.iccid * 7_919 + 3_141_592_653) % 1_000_000_000_000;
        let payload = format!("8933{operator}{account:012}");
        let check = luhn_digit(&payload);
        format!("{payload}{check}")
    }

    /// A unique French mobile number.
    fn mobile_number(&mut self) -> String {
        self.seq.mobile += 1;
        // 48_271_917 is prime to 10: a bijection of 0..10^8, so numbers never repeat.
        let n = (self.seq.mobile * 48_271_917 + 12_345_678) % 100_000_000;
        let prefix = if self.seq.mobile % 3 == 2 { "07" } else { "06" };
        format!("{prefix} {:02} {:02} {:02} {:02}", n / 1_000_000, (n / 10_000) % 100, (n / 100) % 100, n % 100)
    }

    fn puk(&mut self) -> String {
        format!("{:08}", self.rng.below(100_000_000))
    }

    /// A purchase day in `from..=to`.
    fn day(&mut self, (from, to): (i32, i32)) -> Day {
        let span = u64::try_from(to - from + 1).unwrap_or(1);
        Day {
            y: from + i32::try_from(self.rng.below(span)).unwrap_or(0),
            m: 1 + self.rng.below(12) as u32,
            d: 1 + self.rng.below(28) as u32,
        }
    }

    // ---- writes ----

    /// An asset with what every one of its kind carries: tag, serial, maker, dates, MAC, IMEI.
    fn base(
        &mut self,
        kind: AssetKind,
        e: E,
        name: &str,
        m: &Model,
        room: Option<&str>,
        bought: Day,
    ) -> Result<AssetInput> {
        let entity = self.entity(e)?;
        let location_id = match room {
            Some(r) => Some(self.room(e, r)?.0),
            None => None,
        };
        let mut i = AssetInput {
            kind: text(kind.as_str()),
            entity_id: Some(entity.0),
            name: text(name),
            manufacturer: text(m.maker),
            model: text(m.name),
            status: st(AssetStatus::InUse),
            location_id,
            supplier: text(m.supplier),
            ..Default::default()
        };
        match kind {
            AssetKind::PhoneLine => {}
            AssetKind::SimCard => i.purchase_date = Some(bought.text()),
            _ => {
                i.asset_tag = Some(self.next_tag());
                i.serial = Some(self.serial(m));
                i.purchase_date = Some(bought.text());
                if m.warranty_years > 0 {
                    i.warranty_end = Some(bought.plus_years(m.warranty_years).text());
                }
            }
        }
        if kind.has(SpecificField::Mac) && m.ident.contains(':') {
            i.mac = Some(self.mac(m.ident));
        }
        if kind.has(SpecificField::Imei) {
            i.imei = Some(self.imei(m.ident));
        }
        Ok(i)
    }

    /// Validates and stores an asset exactly as the forms and the API do.
    async fn create(&mut self, i: AssetInput) -> Result<AssetId> {
        let name = i.name.clone().unwrap_or_default();
        let draft = i.validate(None).with_context(|| format!("demo asset '{name}' is invalid"))?;
        let id = parc_store::assets::create(&mut self.tx, &self.actor, self.cipher, &draft)
            .await
            .with_context(|| format!("cannot store demo asset '{name}'"))?;
        self.assets += 1;
        self.by_name.insert(name, id);
        Ok(id)
    }

    /// Links `from` (monitor, SIM card, line) to `to`.
    async fn link(&mut self, from: AssetId, to: AssetId) -> Result<()> {
        let f = parc_store::assets::get(&mut self.tx, from)
            .await?
            .with_context(|| format!("demo: asset #{from} vanished"))?;
        let t =
            parc_store::assets::get(&mut self.tx, to).await?.with_context(|| format!("demo: asset #{to} vanished"))?;
        parc_store::assets::link(&mut self.tx, &self.actor, &f, &t)
            .await
            .with_context(|| format!("cannot link demo asset '{}' to '{}'", f.name, t.name))?;
        Ok(())
    }

    // ---- asset patterns ----

    /// A computer with an address in its service's subnet.
    fn pc(&mut self, e: E, name: &str, m: &Model, room: &str, bought: Day) -> Result<AssetInput> {
        let mut i = self.base(AssetKind::Computer, e, name, m, Some(room), bought)?;
        i.ip = Some(self.host_ip(e)?);
        Ok(i)
    }

    /// A monitor plugged into `pc`.
    async fn monitor(&mut self, e: E, name: &str, m: &Model, room: &str, bought: Day, pc: AssetId) -> Result<AssetId> {
        let i = self.base(AssetKind::Monitor, e, name, m, Some(room), bought)?;
        let id = self.create(i).await?;
        self.link(id, pc).await?;
        Ok(id)
    }

    async fn workstation(&mut self, w: Ws) -> Result<AssetId> {
        let code = self.code(w.e)?;
        let bought = self.day(w.bought);
        let mut i = self.pc(w.e, &format!("{code}-{}-PC{:02}", w.place, w.n), w.pc, w.room, bought)?;
        if let Some(login) = w.user {
            i.assigned_user_id = Some(self.user(login)?.0);
        }
        let pc = self.create(i).await?;
        for s in 0..w.screens {
            let suffix = match (w.screens, s) {
                (1, _) => "",
                (_, 0) => "A",
                _ => "B",
            };
            let name = format!("{code}-{}-ECR{:02}{suffix}", w.place, w.n);
            self.monitor(w.e, &name, w.screen, w.room, bought, pc).await?;
        }
        Ok(pc)
    }

    /// A printer on the printers' VLAN.
    async fn printer(&mut self, e: E, name: &str, m: &Model, room: &str, bought: (i32, i32)) -> Result<AssetId> {
        let day = self.day(bought);
        let mut i = self.base(AssetKind::Printer, e, name, m, Some(room), day)?;
        i.ip = Some(self.printer_ip());
        self.create(i).await
    }

    /// A server on the servers' VLAN (or at `ip`).
    async fn server(
        &mut self,
        e: E,
        name: &str,
        m: &Model,
        room: &str,
        ip: Option<String>,
        comment: &str,
    ) -> Result<AssetId> {
        let day = self.day((2020, 2024));
        let mut i = self.base(AssetKind::Server, e, name, m, Some(room), day)?;
        i.ip = Some(match ip {
            Some(ip) => ip,
            None => self.server_ip(),
        });
        i.comment = text(comment);
        self.create(i).await
    }

    /// A switch, managed on VLAN 1 (or at `ip`).
    async fn switch(
        &mut self,
        e: E,
        name: &str,
        m: &Model,
        room: &str,
        ip: Option<String>,
        comment: &str,
    ) -> Result<AssetId> {
        let day = self.day((2019, 2024));
        let mut i = self.base(AssetKind::NetworkEquipment, e, name, m, Some(room), day)?;
        i.ip = Some(match ip {
            Some(ip) => ip,
            None => self.switch_ip(),
        });
        i.comment = text(comment);
        self.create(i).await
    }

    /// A desk phone and its line (the extension), linked; IP phones get an address.
    async fn desk_phone(
        &mut self,
        e: E,
        room: &str,
        m: &Model,
        ext: u16,
        user: Option<&str>,
    ) -> Result<(AssetId, AssetId)> {
        let code = self.code(e)?;
        let day = self.day((2019, 2025));
        let mut i = self.base(AssetKind::DeskPhone, e, &format!("{code}-TEL-{ext}"), m, Some(room), day)?;
        let line_type = if i.mac.is_some() {
            i.ip = Some(self.host_ip(e)?);
            LineType::Sip
        } else if m.name.contains("analogique") {
            LineType::Analog
        } else {
            LineType::Digital
        };
        let user_id = match user {
            Some(l) => Some(self.user(l)?.0),
            None => None,
        };
        i.assigned_user_id = user_id;
        let phone = self.create(i).await?;
        let line_model = if e.is_town() { &LINE_TOWN } else { &LINE_COUNTY };
        let mut l = self.base(AssetKind::PhoneLine, e, &format!("Poste {ext}"), line_model, Some(room), day)?;
        l.line_number = Some(ext.to_string());
        l.line_type = text(line_type.as_str());
        l.assigned_user_id = user_id;
        l.comment = Some(format!("Numéro direct {}", phone_of(e, ext)));
        let line = self.create(l).await?;
        self.link(line, phone).await?;
        Ok((phone, line))
    }

    /// A SIM card with its PUK, carrying `number` when given.
    fn sim(&mut self, e: E, room: &str, number: Option<&str>, bought: Day) -> Result<AssetInput> {
        let m = if e.is_town() { &SIM_BOUYGUES } else { &SIM_ORANGE };
        let iccid = self.iccid(m.ident);
        let name = match number {
            Some(n) => format!("SIM {n}"),
            None => format!("SIM …{}", &iccid[iccid.len() - 6..]),
        };
        let mut i = self.base(AssetKind::SimCard, e, &name, m, Some(room), bought)?;
        i.iccid = Some(iccid);
        i.puk = Some(self.puk());
        i.line_number = number.map(str::to_owned);
        Ok(i)
    }

    /// A mobile phone or a 4G tablet, its SIM card and its mobile line, linked together.
    /// Returns the device.
    async fn mobile_kit(
        &mut self,
        kind: AssetKind,
        e: E,
        m: &Model,
        room: &str,
        user: Option<&str>,
        comment: Option<&str>,
    ) -> Result<AssetId> {
        let code = self.code(e)?;
        let n = {
            let n = self.mobiles.entry(e).or_insert(0);
            *n += 1;
            *n
        };
        let prefix = if kind == AssetKind::Tablet { "TAB4G" } else { "MOB" };
        let day = self.day((2022, 2025));
        let user_id = match user {
            Some(l) => Some(self.user(l)?.0),
            None => None,
        };
        let mut d = self.base(kind, e, &format!("{code}-{prefix}{n:02}"), m, Some(room), day)?;
        d.assigned_user_id = user_id;
        d.comment = comment.map(str::to_owned);
        let device = self.create(d).await?;

        let number = self.mobile_number();
        let mut s = self.sim(e, room, Some(&number), day)?;
        s.assigned_user_id = user_id;
        let sim = self.create(s).await?;
        self.link(sim, device).await?;

        let line_model = if e.is_town() { &MOBILE_LINE_TOWN } else { &MOBILE_LINE_COUNTY };
        let mut l = self.base(AssetKind::PhoneLine, e, &format!("Mobile {number}"), line_model, Some(room), day)?;
        l.line_number = Some(number);
        l.line_type = text(LineType::Mobile.as_str());
        l.assigned_user_id = user_id;
        let line = self.create(l).await?;
        self.link(line, sim).await?;
        Ok(device)
    }

    /// A phone line not carried by a device of the registry (operator lines, video conferencing).
    async fn line(
        &mut self,
        e: E,
        name: &str,
        number: &str,
        t: LineType,
        room: &str,
        comment: &str,
    ) -> Result<AssetId> {
        let m = match (e.is_town(), t) {
            (true, LineType::Analog | LineType::Digital) => &OPERATOR_LINE_TOWN,
            (true, _) => &LINE_TOWN,
            (false, _) => &LINE_COUNTY,
        };
        let day = self.day((2018, 2024));
        let mut l = self.base(AssetKind::PhoneLine, e, name, m, Some(room), day)?;
        l.line_number = text(number);
        l.line_type = text(t.as_str());
        l.comment = text(comment);
        self.create(l).await
    }

    /// An asset with no network field, bought within `bought`.
    fn simple(
        &mut self,
        kind: AssetKind,
        e: E,
        name: &str,
        m: &Model,
        room: &str,
        bought: (i32, i32),
    ) -> Result<AssetInput> {
        let day = self.day(bought);
        self.base(kind, e, name, m, Some(room), day)
    }

    async fn projector(
        &mut self,
        e: E,
        name: &str,
        m: &Model,
        room: &str,
        bought: (i32, i32),
        comment: Option<&str>,
    ) -> Result<AssetId> {
        let mut i = self.simple(AssetKind::Projector, e, name, m, room, bought)?;
        i.comment = comment.map(str::to_owned);
        self.create(i).await
    }

    async fn peripheral(
        &mut self,
        e: E,
        name: &str,
        m: &Model,
        room: &str,
        bought: (i32, i32),
        comment: Option<&str>,
    ) -> Result<AssetId> {
        let mut i = self.simple(AssetKind::Peripheral, e, name, m, room, bought)?;
        i.comment = comment.map(str::to_owned);
        self.create(i).await
    }

    // ---- the organisation ----

    async fn entities(&mut self) -> Result<()> {
        for o in ORGS {
            let parent = self.entity(o.parent)?;
            let ent = parc_store::entities::create(
                &mut self.tx,
                &self.actor,
                &EntityInput { name: text(o.name), parent_id: Some(parent.0), comment: text(o.comment) },
            )
            .await
            .with_context(|| format!("cannot create demo entity '{}'", o.name))?;
            self.entities += 1;
            let mut rooms = HashMap::new();
            for site in o.sites {
                let s = self.location(ent.id, None, LocationKind::Site, site.name, Some(site.address)).await?;
                for (building, names) in site.buildings {
                    let b = self.location(ent.id, Some(s), LocationKind::Building, building, None).await?;
                    for name in *names {
                        let r = self.location(ent.id, Some(b), LocationKind::Room, name, None).await?;
                        rooms.insert(*name, r);
                    }
                }
            }
            self.orgs.insert(o.e, Org { id: ent.id, code: o.code, net: o.net, rooms });
        }
        Ok(())
    }

    async fn location(
        &mut self,
        entity: EntityId,
        parent: Option<LocationId>,
        kind: LocationKind,
        name: &str,
        address: Option<&str>,
    ) -> Result<LocationId> {
        let loc = parc_store::locations::create(
            &mut self.tx,
            &self.actor,
            &LocationInput {
                entity_id: Some(entity.0),
                parent_id: parent.map(|p| p.0),
                kind: text(kind.as_str()),
                name: text(name),
                address: address.map(str::to_owned),
                comment: None,
            },
        )
        .await
        .with_context(|| format!("cannot create demo location '{name}'"))?;
        self.locations += 1;
        Ok(loc.id)
    }

    async fn users(&mut self) -> Result<()> {
        for s in USERS {
            let domain = if s.e.is_town() {
                "saint-aubin.fr"
            } else if s.e.is_school() {
                "ac-valfleuri.fr"
            } else {
                "valfleuri.fr"
            };
            let input = UserInput {
                login: text(s.login),
                display_name: text(s.name),
                email: Some(format!("{}@{domain}", mail_local(s.name))),
                phone: s.ext.map(|x| phone_of(s.e, x)),
                entity_id: Some(self.entity(s.e)?.0),
                language: text("fr"),
                active: Some(true),
            };
            let user = parc_store::users::create(&mut self.tx, &self.actor, &input, Some(&self.hash))
                .await
                .with_context(|| format!("cannot create demo user '{}'", s.login))?;
            let mut grants = Vec::new();
            for (e, profile, recursive) in s.grants {
                grants.push(Grant { entity_id: self.entity(*e)?, profile: *profile, recursive: *recursive });
            }
            parc_store::users::set_grants(&mut self.tx, &self.actor, user.id, &grants)
                .await
                .with_context(|| format!("cannot grant profiles to demo user '{}'", s.login))?;
            self.users.insert(s.login, user.id);
        }
        Ok(())
    }

    /// Two machines as their agents reported them: a Debian workstation (the real output of
    /// ocsinventory-agent 2.10) and a Windows laptop (GLPI agent JSON), through the same import
    /// as the agent endpoints, so the inventory pages and the software catalogue have content.
    async fn inventories(&mut self) -> Result<()> {
        let samples: [&[u8]; 2] = [
            include_bytes!("../../parc-inventory/tests/samples/ocs-2.10-debian12.xml"),
            include_bytes!("../../parc-inventory/tests/samples/glpi-agent-1.11-inventory.json"),
        ];
        let config = parc_store::inventory::import_config(&mut self.tx).await?;
        let src = parc_store::inventory::ImportSource { source_ip: Some("10.20.0.15".into()), agent: None };
        for sample in samples {
            let parc_inventory::AgentMessage::Inventory(inv) = parc_inventory::parse_message(sample)? else {
                bail!("a demo inventory sample is not an inventory");
            };
            parc_store::inventory::import(&mut self.tx, self.cipher, &config, &inv, &src).await?;
        }
        // The machines, and the monitors they reported.
        self.assets = usize::try_from(count_assets(&mut self.tx).await?)?;
        Ok(())
    }

    async fn settings(&mut self) -> Result<()> {
        let mut s = parc_store::settings::get(&mut self.tx).await?;
        if s.organisation_name == parc_store::settings::Settings::default().organisation_name {
            s.organisation_name = COUNTY_NAME.to_owned();
        }
        s.hotline_number = HOTLINE_NUMBER.to_owned();
        parc_store::settings::put(&mut self.tx, &self.actor, &s).await.context("cannot save the demo settings")?;
        Ok(())
    }

    // ---- the helpdesk ----

    /// Ticket categories (on the root, shared by everyone), a support group per authority,
    /// anonymous QR reports for the schools and the library, and tickets at every stage of their
    /// life: new, assigned, planned with an on-site appointment, pending, solved, closed and rated.
    /// A few monitored servers and switches with sample states for the status wall: every
    /// colour, a full disk, a school switch down with its server UNREACHABLE behind it. Their
    /// addresses are fictitious, so active checks and notifications are off: the states are
    /// recorded as passive results, the way a script would report them.
    async fn monitoring(&mut self) -> Result<()> {
        use parc_core::monitoring::{parse_output, ServiceState};
        use parc_store::monitoring::schedule::{self, CheckResult};
        use parc_store::monitoring::{self, HostInput, ServiceInput};
        let ok =
            "PING OK - Packet loss = 0%, RTA = 0.41 ms|rta=0.410000ms;3000.000000;5000.000000;0.000000 pl=0%;80;100;0";
        let down = "PING CRITICAL - Packet loss = 100%|rta=0ms;3000;5000;0 pl=100%;80;100;0";
        let disk = |free_mb: u32, used_mb: u32, state: &str| {
            format!(
                "DISK {state} - free space: / {free_mb} MB ({:.0}% inode=92%);| /={used_mb}MB;{};{};0;{}",
                f64::from(free_mb) * 100.0 / f64::from(free_mb + used_mb),
                (free_mb + used_mb) * 9 / 10,
                (free_mb + used_mb) * 95 / 100,
                free_mb + used_mb
            )
        };
        let jm = self.code(E::Jm)?;
        /// One monitored asset of the sample: its names, its parent, its host check's result and
        /// its services' (name, state, output).
        struct Sample<'a> {
            asset: String,
            display: &'a str,
            group: &'a str,
            parent: Option<String>,
            host_state: ServiceState,
            host_text: &'a str,
            services: Vec<(&'a str, ServiceState, String)>,
        }
        let sample = |asset: String,
                      display: &'static str,
                      group: &'static str,
                      parent: Option<String>,
                      host_state: ServiceState,
                      host_text: &'static str,
                      services: Vec<(&'static str, ServiceState, String)>| Sample {
            asset,
            display,
            group,
            parent,
            host_state,
            host_text,
            services,
        };
        let plan: Vec<Sample> = vec![
            sample("HDV-SW-CORE01".into(), "Cœur de réseau", "Hôtel de ville", None, ServiceState::Ok, ok, vec![]),
            sample(
                "HDV-SRV-DC01".into(),
                "Annuaire et impressions",
                "Hôtel de ville",
                Some("HDV-SW-CORE01".into()),
                ServiceState::Ok,
                ok,
                vec![("Disque /", ServiceState::Ok, disk(61_000, 39_000, "OK"))],
            ),
            sample(
                "HDV-SRV-BKP01".into(),
                "Serveur de sauvegarde",
                "Hôtel de ville",
                Some("HDV-SW-CORE01".into()),
                ServiceState::Ok,
                ok,
                vec![("Disque /", ServiceState::Warning, disk(7_200, 92_800, "WARNING"))],
            ),
            sample("DEP-SW-CORE01".into(), "Cœur de réseau", "Département", None, ServiceState::Ok, ok, vec![]),
            sample(
                "DEP-SRV-AD01".into(),
                "Annuaire du Département",
                "Département",
                Some("DEP-SW-CORE01".into()),
                ServiceState::Ok,
                ok,
                vec![("Disque /", ServiceState::Ok, disk(80_000, 20_000, "OK"))],
            ),
            sample(
                format!("{jm}-SW01"),
                "Réseau du collège",
                "Collège Jean Moulin",
                None,
                ServiceState::Critical,
                down,
                vec![],
            ),
            sample(
                format!("{jm}-SRV01"),
                "Serveur pédagogique",
                "Collège Jean Moulin",
                Some(format!("{jm}-SW01")),
                ServiceState::Critical,
                down,
                vec![],
            ),
        ];
        let mut hosts: HashMap<String, (parc_core::HostId, parc_core::ServiceId)> = HashMap::new();
        let mut results: Vec<CheckResult> = Vec::new();
        let mut result = |id, state, text: &str| {
            let out = parse_output(text);
            results.push(CheckResult {
                service_id: id,
                owner: None,
                state,
                summary: out.summary,
                long_output: out.long_output,
                perfdata: out.perfdata,
                started_at: chrono::Utc::now(),
                duration_ms: 4,
            });
        };
        let off = ServiceInput { enabled: Some(false), notifications_enabled: Some(false), ..ServiceInput::default() };
        for Sample { asset: name, display, group, parent, host_state, host_text, services } in plan {
            let asset = *self.by_name.get(&name).with_context(|| format!("demo: no asset {name}"))?;
            let parents = match parent {
                Some(p) => vec![hosts.get(&p).with_context(|| format!("demo: {p} monitored after {name}"))?.0 .0],
                None => Vec::new(),
            };
            let input = HostInput {
                asset_id: Some(asset.0),
                display_name: Some(display.into()),
                wall_group: Some(group.into()),
                parents: Some(parents),
                comment: Some("Démonstration : adresse fictive, états enregistrés comme résultats passifs.".into()),
                ..HostInput::default()
            };
            let h = monitoring::create_host(&mut self.tx, &self.actor, &input).await.context("demo: monitor host")?;
            monitoring::update_service(&mut self.tx, &self.actor, h.check_id, &off)
                .await
                .context("demo: host check off")?;
            for _ in 0..3 {
                result(h.check_id, host_state, host_text);
            }
            for (svc, state, text) in services {
                let check = serde_json::from_value(serde_json::json!({
                    "type": "plugin", "command": "$USER1$/check_by_ssh -H $HOSTADDRESS$ -C '$ARG1$'",
                    "args": ["/usr/lib/nagios/plugins/check_disk -w 10% -c 5% -p /"]
                }))?;
                let input = ServiceInput { name: Some(svc.into()), check: Some(check), ..off.clone() };
                let s = monitoring::create_service(&mut self.tx, &self.actor, h.id, &input)
                    .await
                    .context("demo: service")?;
                for _ in 0..3 {
                    result(s.id, state, &text);
                }
            }
            hosts.insert(name, (h.id, h.check_id));
        }
        // Parents first, so that a child behind a DOWN switch is UNREACHABLE.
        for r in results {
            schedule::record(&mut self.tx, &[r], chrono::Utc::now()).await.context("demo: record")?;
        }
        Ok(())
    }

    async fn helpdesk(&mut self) -> Result<()> {
        use parc_core::helpdesk::TicketStatus;
        use parc_store::helpdesk::{self, CategoryInput, GroupInput, TaskInput, TicketInput};
        let root = self.root.0;
        let mut categories: HashMap<&str, i64> = HashMap::new();
        for (parent, name) in DEMO_CATEGORIES {
            let input = CategoryInput {
                entity_id: Some(root),
                parent_id: parent.map(|p| categories[p]),
                name: Some((*name).to_owned()),
                comment: None,
            };
            let cat = helpdesk::create_category(&mut self.tx, &self.actor, &input).await?;
            categories.insert(name, cat.id.0);
        }
        for (e, name, members) in [
            (E::Dep, "Support DSI", &["tech.dsi", "hotline"][..]),
            (E::Dc, "Support collèges", &["tech.colleges"][..]),
            (E::Hdv, "Informatique mairie", &["tech.mairie", "tech.telecom", "hotline.mairie"][..]),
        ] {
            let member_ids = members.iter().map(|m| self.user(m).map(|u| u.0)).collect::<Result<Vec<_>>>()?;
            let input = GroupInput {
                entity_id: Some(self.entity(e)?.0),
                name: Some(name.into()),
                comment: None,
                member_ids: Some(member_ids),
            };
            helpdesk::create_group(&mut self.tx, &self.actor, &input).await?;
        }
        for e in [E::Jm, E::Mc, E::Lm, E::Med] {
            let id = self.entity(e)?;
            helpdesk::put_entity_settings(&mut self.tx, &self.actor, id, None, Some(true)).await?;
        }
        let tree = parc_store::entities::tree(&mut self.tx).await?;
        let cfg = helpdesk::config(&mut self.tx).await?;
        let monday = next_monday_9am();
        for (n, d) in DEMO_TICKETS.iter().enumerate() {
            let asset_ids = match d.asset {
                Some(name) => {
                    vec![self.by_name.get(name).copied().with_context(|| format!("demo: no asset {name}"))?.0]
                }
                None => Vec::new(),
            };
            let input = TicketInput {
                entity_id: Some(self.entity(d.e)?.0),
                kind: Some(if d.request { "request" } else { "incident" }.into()),
                title: Some(d.title.into()),
                description: Some(d.description.into()),
                requester_user_id: d.requester.map(|r| self.user(r)).transpose()?.map(|u| u.0),
                requester_name: d.caller.map(|(name, _)| name.into()),
                requester_phone: d.caller.map(|(_, phone)| phone.into()),
                category_id: Some(categories[d.category]),
                urgency: Some(d.urgency),
                impact: Some(d.impact),
                assignee_user_id: d.technician.map(|t| self.user(t)).transpose()?.map(|u| u.0),
                asset_ids: Some(asset_ids),
                source: Some(if d.caller.is_some() { "hotline" } else { "web" }.into()),
                ..Default::default()
            };
            let t = helpdesk::create(&mut self.tx, &self.actor, &cfg, &tree, &input)
                .await
                .with_context(|| format!("demo ticket '{}'", d.title))?;
            for (private, body) in d.followups {
                helpdesk::add_followup(&mut self.tx, &self.actor, t.id, body, *private).await?;
            }
            let tech = d.technician.map(|t| self.user(t)).transpose()?.map(|u| u.0);
            if let (Some(minutes), Some(tech)) = (d.minutes, tech) {
                let planned = d.on_site.then(|| monday + chrono::Duration::days(n as i64 % 4));
                let task = TaskInput {
                    description: Some(d.task.unwrap_or("Diagnostic et intervention.").into()),
                    technician_user_id: Some(tech),
                    on_site: Some(d.on_site),
                    hardware_needed: d.hardware.map(Into::into),
                    duration_minutes: Some(minutes),
                    planned_start: planned.map(parc_store::fmt_time),
                    planned_end: planned.map(|p| parc_store::fmt_time(p + chrono::Duration::hours(1))),
                    ..Default::default()
                };
                helpdesk::save_task(&mut self.tx, &self.actor, &tree, t.id, None, &task).await?;
            }
            let mut status = helpdesk::get(&mut self.tx, t.id).await?.context("demo ticket")?.status;
            for step in d.path {
                let to: TicketStatus = step.parse().map_err(|_| anyhow::anyhow!("demo: bad status {step}"))?;
                if to == status {
                    continue;
                }
                let solution = (to == TicketStatus::Solved).then_some(d.solution.unwrap_or("Problème résolu."));
                helpdesk::set_status(&mut self.tx, &self.actor, &cfg, &tree, t.id, to, solution).await?;
                status = to;
            }
            if let Some(stars) = d.rating {
                helpdesk::rate(&mut self.tx, &self.actor, t.id, stars, Some("Merci pour la rapidité !")).await?;
            }
        }
        Ok(())
    }

    // ---- the county council ----

    async fn county(&mut self) -> Result<()> {
        let e = E::Dep;
        self.workstation(
            Ws::new(e, "Accueil", "ACC", 1, &DELL_OPTIPLEX_7010, &DELL_P2422H).user("a.lambert").bought(2022, 2024),
        )
        .await?;
        self.desk_phone(e, "Accueil", &ALE_8068S, 3000, Some("a.lambert")).await?;
        self.printer(e, "DEP-ACC-IMP01", &HP_M479, "Accueil", (2021, 2023)).await?;

        // The president's office: a laptop on a dock, a desk phone and a mobile.
        let day = self.day((2024, 2024));
        let mut i = self.pc(e, "DEP-CAB-PC01", &DELL_LATITUDE_7440, "Cabinet du président", day)?;
        i.comment = text("Portable du président, station d'accueil et écran au bureau.");
        let pc = self.create(i).await?;
        self.monitor(e, "DEP-CAB-ECR01", &DELL_P2422H, "Cabinet du président", day, pc).await?;
        self.desk_phone(e, "Cabinet du président", &ALE_8068S, 3005, None).await?;
        self.mobile_kit(
            AssetKind::MobilePhone,
            e,
            &IPHONE_13,
            "Cabinet du président",
            None,
            Some("Président du Conseil départemental."),
        )
        .await?;

        self.projector(
            e,
            "DEP-ASS-VP01",
            &EPSON_L630U,
            "Salle des assemblées",
            (2021, 2021),
            Some("Vidéoprojecteur laser 6200 lm, fixé au plafond."),
        )
        .await?;
        self.peripheral(e, "DEP-ASS-VISIO01", &LOGITECH_MEETUP, "Salle des assemblées", (2022, 2022), None).await?;
        self.line(
            e,
            "Visioconférence salle des assemblées",
            "3090",
            LineType::H323,
            "Salle des assemblées",
            "Terminal de visioconférence H.323 (passerelle Business Talk).",
        )
        .await?;
        Ok(())
    }

    async fn dsi(&mut self) -> Result<()> {
        let e = E::Dsi;
        let room = "Salle serveurs";
        self.server(
            e,
            "DEP-SRV-ESX01",
            &POWEREDGE_R750,
            room,
            None,
            "Baie 1, U20-21. Hyperviseur VMware ESXi, cluster de production.",
        )
        .await?;
        self.server(
            e,
            "DEP-SRV-ESX02",
            &POWEREDGE_R750,
            room,
            None,
            "Baie 1, U22-23. Hyperviseur VMware ESXi, cluster de production.",
        )
        .await?;
        self.server(e, "DEP-SRV-AD01", &POWEREDGE_R650, room, None, "Baie 1, U25. Contrôleur de domaine, DNS, DHCP.")
            .await?;
        self.server(
            e,
            "DEP-SRV-BKP01",
            &POWEREDGE_R740XD,
            room,
            None,
            "Baie 2, U10-11. Sauvegardes (Veeam), rétention 30 jours.",
        )
        .await?;
        let day = self.day((2017, 2017));
        let mut old = self.base(AssetKind::Server, e, "DEP-SRV-FIC01", &POWEREDGE_R720, Some(room), day)?;
        old.status = st(AssetStatus::Retired);
        old.comment = text("Baie 2, U30-31. Ancien serveur de fichiers, données migrées : à décommissionner.");
        self.create(old).await?;
        self.switch(
            e,
            "DEP-SW-CORE01",
            &CISCO_9300,
            room,
            None,
            "Baie 1, U42. Cœur de réseau, agrégation de liens vers les bâtiments A et B.",
        )
        .await?;
        self.switch(e, "DEP-SW-BATA01", &ARUBA_2930F, room, None, "Baie 2, U40. Distribution bâtiment A.").await?;
        self.switch(e, "DEP-SW-BATB01", &ARUBA_2930F, room, None, "Baie 2, U41. Distribution bâtiment B.").await?;

        let office = "Bureau DSI";
        let day = self.day((2023, 2023));
        let mut i = self.pc(e, "DSI-BUR-PC01", &DELL_LATITUDE_7440, office, day)?;
        i.assigned_user_id = Some(self.user("chef.dsi")?.0);
        let pc = self.create(i).await?;
        self.monitor(e, "DSI-BUR-ECR01", &DELL_P2422H, office, day, pc).await?;
        for (n, user) in [(2, "admin.departement"), (3, "tech.dsi"), (4, "hotline")] {
            self.workstation(
                Ws::new(e, office, "BUR", n, &DELL_OPTIPLEX_7010, &DELL_P2422H)
                    .screens(if user == "hotline" { 2 } else { 1 })
                    .user(user)
                    .bought(2023, 2024),
            )
            .await?;
        }
        for (ext, user) in [(3001, "chef.dsi"), (3002, "admin.departement"), (3003, "tech.dsi"), (7000, "hotline")] {
            self.desk_phone(e, office, &YEALINK_T54W, ext, Some(user)).await?;
        }
        self.printer(e, "DSI-BUR-IMP01", &HP_M507, office, (2020, 2022)).await?;
        self.mobile_kit(
            AssetKind::MobilePhone,
            e,
            &GALAXY_XCOVER7,
            office,
            Some("tech.dsi"),
            Some("Téléphone d'astreinte DSI."),
        )
        .await?;

        // The workshop: loanable laptops and projector, tools.
        let shop = "Atelier";
        let loans = [
            (1, AssetStatus::Loaned, Some("m.gauthier"), "Prêt. Réunion de rentrée des principaux."),
            (2, AssetStatus::Loaned, Some("dir.colleges"), "Prêt. Déplacements dans les collèges."),
            (3, AssetStatus::InStock, None, "Prêt. Disponible."),
            (4, AssetStatus::InRepair, None, "Prêt. Écran cassé : retour garantie Dell (dossier 1187342)."),
        ];
        for (n, status, user, comment) in loans {
            let day = self.day((2023, 2024));
            let mut i =
                self.base(AssetKind::Computer, e, &format!("DSI-PRET-PC{n:02}"), &DELL_LATITUDE_5540, Some(shop), day)?;
            i.status = st(status);
            i.comment = text(comment);
            if let Some(l) = user {
                i.assigned_user_id = Some(self.user(l)?.0);
            }
            self.create(i).await?;
        }
        let day = self.day((2022, 2022));
        let mut vp = self.base(AssetKind::Projector, e, "DSI-PRET-VP01", &EPSON_W51, Some(shop), day)?;
        vp.status = st(AssetStatus::InStock);
        vp.comment = text("Prêt. Vidéoprojecteur portable avec sacoche et câble HDMI.");
        self.create(vp).await?;
        self.peripheral(e, "DSI-WEBCAM01", &LOGITECH_C920, shop, (2021, 2023), Some("Prêt.")).await?;
        self.peripheral(
            e,
            "DSI-SCAN01",
            &FUJITSU_FI7160,
            shop,
            (2020, 2022),
            Some("Numérisation des fiches d'intervention."),
        )
        .await?;

        // The stock: spare phones and SIM cards ready for the mobile campaign, a spare monitor.
        let stock = "Stock";
        for _ in 0..2 {
            let code = self.code(e)?;
            let n = {
                let n = self.mobiles.entry(e).or_insert(0);
                *n += 1;
                *n
            };
            let day = self.day((2025, 2025));
            let mut i =
                self.base(AssetKind::MobilePhone, e, &format!("{code}-MOB{n:02}"), &GALAXY_A15, Some(stock), day)?;
            i.status = st(AssetStatus::InStock);
            i.comment = text("Préparé : mise à jour, icônes retirées, fond d'écran du Département, verre trempé posé.");
            self.create(i).await?;
            let day = self.day((2025, 2025));
            let mut s = self.sim(e, stock, None, day)?;
            s.status = st(AssetStatus::InStock);
            self.create(s).await?;
        }
        let day = self.day((2024, 2024));
        let mut m = self.base(AssetKind::Monitor, e, "DSI-STOCK-ECR01", &DELL_P2422H, Some(stock), day)?;
        m.status = st(AssetStatus::InStock);
        self.create(m).await?;
        let day = self.day((2017, 2017));
        let mut old = self.base(AssetKind::Computer, e, "DSI-OLD-PC01", &DELL_OPTIPLEX_3050, Some(stock), day)?;
        old.status = st(AssetStatus::Retired);
        old.comment = text("Réformé : disque effacé, en attente d'enlèvement (filière D3E).");
        self.create(old).await?;
        Ok(())
    }

    async fn colleges_direction(&mut self) -> Result<()> {
        let e = E::Dc;
        let office = "Bureaux 2e étage";
        for (n, user) in [(1, "dir.colleges"), (2, "m.gauthier")] {
            self.workstation(
                Ws::new(e, office, "BUR", n, &DELL_OPTIPLEX_5090, &DELL_P2422H).user(user).bought(2021, 2022),
            )
            .await?;
        }
        let day = self.day((2024, 2024));
        let mut i = self.pc(e, "DC-BUR-PC03", &DELL_LATITUDE_5540, office, day)?;
        i.assigned_user_id = Some(self.user("tech.colleges")?.0);
        i.comment = text("Portable de la technicienne des collèges (interventions sur site).");
        let pc = self.create(i).await?;
        self.monitor(e, "DC-BUR-ECR03", &DELL_P2422H, office, day, pc).await?;
        self.desk_phone(e, office, &ALE_8029S, 3010, Some("dir.colleges")).await?;
        self.desk_phone(e, office, &ALE_8029S, 3012, Some("m.gauthier")).await?;
        self.desk_phone(e, office, &YEALINK_T33G, 3011, Some("tech.colleges")).await?;
        self.printer(e, "DC-BUR-IMP01", &BROTHER_HL, office, (2019, 2021)).await?;
        self.mobile_kit(AssetKind::MobilePhone, e, &GALAXY_A15, office, Some("tech.colleges"), None).await?;
        self.projector(e, "DC-REU-VP01", &BENQ_MW560, "Salle de réunion", (2020, 2022), None).await?;
        self.peripheral(e, "DC-REU-WEBCAM01", &LOGITECH_C920, "Salle de réunion", (2022, 2023), None).await?;
        Ok(())
    }

    // ---- the schools ----

    async fn school(&mut self, s: &SchoolSpec) -> Result<()> {
        let e = s.e;
        let code = self.code(e)?;
        let net = self.org(e)?.net;

        // Network and server in the technical room.
        self.server(
            e,
            &format!("{code}-SRV01"),
            &POWEREDGE_T150,
            "Local technique",
            Some(format!("192.168.{net}.5")),
            "Serveur pédagogique : partages, impressions, filtrage web.",
        )
        .await?;
        self.switch(
            e,
            &format!("{code}-SW01"),
            &ARUBA_2930F,
            "Local technique",
            Some(format!("192.168.{net}.2")),
            "Cœur de réseau du collège.",
        )
        .await?;
        self.switch(
            e,
            &format!("{code}-SW02"),
            &HPE_1920S,
            "Salle informatique",
            Some(format!("192.168.{net}.3")),
            "Salle informatique.",
        )
        .await?;

        // The computer room: one batch, all bought the same day.
        let lab_day = self.day((s.lab_year, s.lab_year));
        for n in 1..=6 {
            let mut i = self.pc(e, &format!("{code}-SINFO-PC{n:02}"), s.lab, "Salle informatique", lab_day)?;
            if s.lab_year < 2020 {
                i.comment = text("Renouvellement prévu à la campagne d'été (remplacement des PC de plus de 5 ans).");
                if n == 4 {
                    i.status = st(AssetStatus::InRepair);
                    i.comment = text("Ne démarre plus (alimentation). Renouvellement prévu à la campagne d'été.");
                }
            } else {
                i.comment = text("Déployé depuis l'image maître du collège.");
            }
            let pc = self.create(i).await?;
            if let Some(screen) = s.lab_screen {
                self.monitor(e, &format!("{code}-SINFO-ECR{n:02}"), screen, "Salle informatique", lab_day, pc).await?;
            }
        }

        // CDI, classrooms, offices.
        for n in 1..=2 {
            self.workstation(Ws::new(e, "CDI", "CDI", n, &HP_PRODESK_400, &HP_E24).bought(2020, 2022)).await?;
        }
        self.printer(e, &format!("{code}-CDI-IMP01"), &HP_M404, "CDI", (2019, 2022)).await?;
        let classrooms = [("Salle 101", "S101", &EPSON_695WI), ("Salle de technologie", "TECHNO", &BENQ_MW560)];
        for (room, place, projector) in classrooms {
            let user = (place == "TECHNO").then_some(s.teachers[2]);
            self.workstation(Ws::new(e, room, place, 1, &LENOVO_M70Q, &LENOVO_T24I).user(user).bought(2021, 2024))
                .await?;
            self.projector(e, &format!("{code}-{place}-VP01"), projector, room, (2019, 2023), None).await?;
        }
        self.projector(
            e,
            &format!("{code}-S201-VP01"),
            &EPSON_695WI,
            "Salle 201",
            (2019, 2023),
            Some("Vidéoprojecteur interactif ; les élèves y branchent les tablettes."),
        )
        .await?;
        self.peripheral(e, &format!("{code}-S101-VISU01"), &IPEVO_V4K, "Salle 101", (2021, 2023), None).await?;

        self.workstation(Ws::new(e, "Vie scolaire", "VS", 1, &HP_PRODESK_400, &HP_E24).user(s.cpe).bought(2021, 2023))
            .await?;
        let cpe_ext = USERS.iter().find(|x| x.login == s.cpe).and_then(|x| x.ext).unwrap_or(s.secretariat_ext + 2);
        self.desk_phone(e, "Vie scolaire", &YEALINK_T33G, cpe_ext, Some(s.cpe)).await?;

        self.workstation(Ws::new(e, "Secrétariat", "SEC", 1, &HP_PRODESK_400, &HP_E24).bought(2020, 2023)).await?;
        self.printer(e, &format!("{code}-SEC-IMP01"), &KYOCERA_M3645, "Secrétariat", (2020, 2023)).await?;
        self.desk_phone(e, "Secrétariat", &YEALINK_T54W, s.secretariat_ext, None).await?;
        self.line(
            e,
            &format!("Fax et alarme {code}"),
            s.fax,
            LineType::Analog,
            "Secrétariat",
            "Ligne analogique : télécopieur et transmetteur d'alarme intrusion.",
        )
        .await?;

        self.workstation(
            Ws::new(e, "Bureau du principal", "PRINC", 1, &HP_ELITEDESK_800, &HP_E24)
                .user(s.principal)
                .bought(2021, 2024),
        )
        .await?;
        let principal_ext =
            USERS.iter().find(|x| x.login == s.principal).and_then(|x| x.ext).unwrap_or(s.secretariat_ext + 1);
        self.desk_phone(e, "Bureau du principal", &YEALINK_T54W, principal_ext, Some(s.principal)).await?;
        self.mobile_kit(AssetKind::MobilePhone, e, &IPHONE_SE, "Bureau du principal", Some(s.principal), None).await?;

        self.workstation(Ws::new(e, "Salle des professeurs", "PROF", 1, &HP_PRODESK_400, &HP_E24).bought(2019, 2022))
            .await?;
        self.printer(e, &format!("{code}-PROF-IMP01"), &BROTHER_MFC, "Salle des professeurs", (2019, 2022)).await?;

        // The class set of tablets (collected and wiped every June), one lent to a teacher.
        let tab_day = self.day((2022, 2023));
        for n in 1..=5 {
            let mut i =
                self.base(AssetKind::Tablet, e, &format!("{code}-TAB{n:02}"), s.tablet, Some("CDI"), tab_day)?;
            i.comment = text("Classe mobile, chariot 1. Gérée par le MDM.");
            if n == 3 {
                i.status = st(AssetStatus::Returned);
                i.comment = text("Rendue au ramassage de juin, en attente d'effacement par le MDM.");
            }
            if n == 4 {
                i.status = st(AssetStatus::Wiped);
                i.comment = text("Effacée via le MDM au ramassage de juin. Prête à redistribuer.");
            }
            if n == 5 {
                i.status = st(AssetStatus::Loaned);
                i.assigned_user_id = Some(self.user(s.teachers[0])?.0);
                i.comment = text("Prêt à l'enseignant pour l'année scolaire. Gérée par le MDM.");
            }
            self.create(i).await?;
        }

        // Loanable laptops kept by the secretariat.
        let day = self.day((2023, 2024));
        let mut i =
            self.base(AssetKind::Computer, e, &format!("{code}-PRET-PC01"), &HP_PROBOOK_450, Some("Secrétariat"), day)?;
        i.status = st(AssetStatus::Loaned);
        i.assigned_user_id = Some(self.user(s.teachers[1])?.0);
        i.comment = text("Prêt. Rendu prévu à la fin du trimestre.");
        self.create(i).await?;
        let mut i =
            self.base(AssetKind::Computer, e, &format!("{code}-PRET-PC02"), &HP_PROBOOK_450, Some("Secrétariat"), day)?;
        i.status = st(AssetStatus::InStock);
        i.comment = text("Prêt. Disponible.");
        self.create(i).await?;

        // An old machine waiting to leave.
        let day = self.day((2017, 2017));
        let mut old =
            self.base(AssetKind::Computer, e, &format!("{code}-OLD-PC01"), &LENOVO_M700, Some("Local technique"), day)?;
        old.status = st(AssetStatus::Retired);
        old.comment = text("Réformé : disque effacé, en attente d'enlèvement (filière D3E).");
        self.create(old).await?;
        Ok(())
    }

    // ---- the town hall ----

    async fn town_hall(&mut self) -> Result<()> {
        let e = E::Hdv;
        let room = "Salle serveurs";
        // Three racks in the server room.
        self.server(e, "HDV-SRV-ESX01", &POWEREDGE_R750, room, None, "Baie 1, U18-19. Hyperviseur VMware ESXi.")
            .await?;
        self.server(e, "HDV-SRV-ESX02", &POWEREDGE_R750, room, None, "Baie 1, U20-21. Hyperviseur VMware ESXi.")
            .await?;
        self.server(
            e,
            "HDV-SRV-DC01",
            &POWEREDGE_R650,
            room,
            None,
            "Baie 2, U12. Contrôleur de domaine, DNS, DHCP, serveur d'impression.",
        )
        .await?;
        self.server(
            e,
            "HDV-SRV-BKP01",
            &POWEREDGE_R540,
            room,
            None,
            "Baie 2, U14-15. Sauvegardes (Veeam), copie hebdomadaire externalisée.",
        )
        .await?;
        let day = self.day((2017, 2017));
        let mut old = self.base(AssetKind::Server, e, "HDV-SRV-OLD01", &POWEREDGE_R720, Some(room), day)?;
        old.status = st(AssetStatus::Retired);
        old.comment = text("Baie 3, U20-21. Ancien serveur d'applications métiers : décommissionnement prévu.");
        self.create(old).await?;
        self.switch(e, "HDV-SW-CORE01", &CISCO_9300, room, None, "Baie 1, U42. Cœur de réseau (pile avec CORE02).")
            .await?;
        self.switch(e, "HDV-SW-CORE02", &CISCO_9300, room, None, "Baie 2, U42. Cœur de réseau (pile avec CORE01).")
            .await?;
        self.switch(e, "HDV-SW-ETG01", &CISCO_2960X, room, None, "Baie 3, U40. Distribution des étages.").await?;

        let office = "Bureau informatique";
        for (n, user) in [(1, "admin.mairie"), (2, "tech.mairie"), (3, "tech.telecom"), (4, "hotline.mairie")] {
            self.workstation(Ws::new(e, office, "INFO", n, &HP_ELITEDESK_800, &HP_E24).user(user).bought(2021, 2023))
                .await?;
        }
        for (ext, user) in
            [(1010, "admin.mairie"), (1011, "tech.mairie"), (1012, "tech.telecom"), (7777, "hotline.mairie")]
        {
            self.desk_phone(e, office, &YEALINK_T54W, ext, Some(user)).await?;
        }
        self.mobile_kit(
            AssetKind::MobilePhone,
            e,
            &GALAXY_XCOVER7,
            office,
            Some("tech.telecom"),
            Some("Téléphone d'astreinte informatique et télécoms."),
        )
        .await?;

        // The mayor and the general direction.
        let day = self.day((2024, 2024));
        let mut i = self.pc(e, "HDV-MAIRE-PC01", &DELL_LATITUDE_7440, "Bureau du maire", day)?;
        i.assigned_user_id = Some(self.user("maire")?.0);
        let pc = self.create(i).await?;
        self.monitor(e, "HDV-MAIRE-ECR01", &DELL_P2422H, "Bureau du maire", day, pc).await?;
        self.desk_phone(e, "Bureau du maire", &ALE_8068S, 1001, Some("maire")).await?;
        self.mobile_kit(AssetKind::MobilePhone, e, &IPHONE_13, "Bureau du maire", Some("maire"), None).await?;
        self.workstation(
            Ws::new(e, "Direction générale", "DG", 1, &HP_ELITEDESK_800, &HP_E24).user("dgs.mairie").bought(2022, 2023),
        )
        .await?;
        self.desk_phone(e, "Direction générale", &ALE_8068S, 1002, Some("dgs.mairie")).await?;
        self.mobile_kit(AssetKind::MobilePhone, e, &GALAXY_A15, "Direction générale", Some("dgs.mairie"), None).await?;
        self.printer(e, "HDV-DG-COPIEUR01", &KYOCERA_TASKALFA, "Direction générale", (2022, 2022)).await?;

        // The council room.
        self.projector(
            e,
            "HDV-CONSEIL-VP01",
            &EPSON_L630U,
            "Salle du conseil",
            (2022, 2022),
            Some("Retransmission des conseils municipaux."),
        )
        .await?;
        self.peripheral(e, "HDV-CONSEIL-VISIO01", &LOGITECH_MEETUP, "Salle du conseil", (2022, 2022), None).await?;
        self.line(
            e,
            "Visioconférence salle du conseil",
            "1090",
            LineType::H323,
            "Salle du conseil",
            "Terminal de visioconférence H.323.",
        )
        .await?;

        // Operator lines.
        self.line(
            e,
            "Lien T2 standard",
            "04 73 55 10 00",
            LineType::Digital,
            room,
            "Lien T2 (30 canaux), SDA 04 73 55 10 00 à 04 73 55 19 99.",
        )
        .await?;
        self.line(
            e,
            "Ascenseur hôtel de ville",
            "04 73 55 19 01",
            LineType::Analog,
            room,
            "Téléalarme de la cabine d'ascenseur.",
        )
        .await?;
        // An analog set on its own line, for when the PBX is down.
        self.desk_phone(e, room, &ALCATEL_TEMPORIS, 1999, None).await?;

        // The IT stock: loanable equipment and spares.
        let stock = "Stock informatique";
        let day = self.day((2023, 2024));
        let mut i = self.base(AssetKind::Computer, e, "HDV-PRET-PC01", &LENOVO_THINKPAD_E14, Some(stock), day)?;
        i.status = st(AssetStatus::Loaned);
        i.assigned_user_id = Some(self.user("c.chevalier")?.0);
        i.comment = text("Prêt. Télétravail, retour prévu le mois prochain.");
        self.create(i).await?;
        let mut i = self.base(AssetKind::Computer, e, "HDV-PRET-PC02", &LENOVO_THINKPAD_E14, Some(stock), day)?;
        i.status = st(AssetStatus::InStock);
        i.comment = text("Prêt. Disponible.");
        self.create(i).await?;
        let day = self.day((2021, 2021));
        let mut vp = self.base(AssetKind::Projector, e, "HDV-PRET-VP01", &EPSON_W51, Some(stock), day)?;
        vp.status = st(AssetStatus::Loaned);
        vp.assigned_user_id = Some(self.user("r.masson")?.0);
        vp.comment = text("Prêt. Réunion publique au centre technique.");
        self.create(vp).await?;
        let day = self.day((2025, 2025));
        let mut spare = self.base(AssetKind::DeskPhone, e, "HDV-TEL-STOCK01", &YEALINK_T33G, Some(stock), day)?;
        spare.status = st(AssetStatus::InStock);
        self.create(spare).await?;
        let mut spare = self.base(AssetKind::Computer, e, "HDV-STOCK-PC01", &HP_ELITEDESK_800, Some(stock), day)?;
        spare.status = st(AssetStatus::InStock);
        spare.comment = text("Poste de remplacement, masterisé.");
        self.create(spare).await?;
        let mut sim = self.sim(e, stock, None, day)?;
        sim.status = st(AssetStatus::InStock);
        self.create(sim).await?;
        let day = self.day((2017, 2017));
        let mut old = self.base(AssetKind::Computer, e, "HDV-OLD-PC01", &DELL_OPTIPLEX_3050, Some(stock), day)?;
        old.status = st(AssetStatus::Retired);
        old.comment = text("Réformé : disque effacé, en attente d'enlèvement (filière D3E).");
        self.create(old).await?;
        Ok(())
    }

    async fn town_services(&mut self) -> Result<()> {
        // Accueil.
        let e = E::Acc;
        for (n, user) in [(1, Some("m.lambert")), (2, None)] {
            self.workstation(
                Ws::new(e, "Bureau accueil", "ACC", n, &LENOVO_M70Q, &LENOVO_T24I).user(user).bought(2022, 2024),
            )
            .await?;
        }
        self.desk_phone(e, "Bureau accueil", &YEALINK_T33G, 1014, Some("m.lambert")).await?;
        self.desk_phone(e, "Hall d'accueil", &YEALINK_T33G, 1015, None).await?;
        self.printer(e, "ACC-IMP01", &HP_M404, "Bureau accueil", (2020, 2023)).await?;
        self.peripheral(e, "ACC-SCAN01", &EPSON_DS530, "Bureau accueil", (2022, 2023), None).await?;

        // État civil.
        let e = E::Ec;
        for (n, user) in [(1, Some("c.chevalier")), (2, Some("n.henry")), (3, None)] {
            self.workstation(
                Ws::new(e, "Guichets état civil", "GUI", n, &LENOVO_M70Q, &LENOVO_T24I).user(user).bought(2021, 2024),
            )
            .await?;
        }
        self.desk_phone(e, "Guichets état civil", &ALE_8068S, 1020, Some("c.chevalier")).await?;
        self.desk_phone(e, "Guichets état civil", &ALE_8068S, 1021, Some("n.henry")).await?;
        self.printer(e, "EC-IMP01", &BROTHER_MFC, "Guichets état civil", (2020, 2023)).await?;
        self.peripheral(
            e,
            "EC-SCAN01",
            &FUJITSU_FI7160,
            "Archives",
            (2019, 2021),
            Some("Numérisation des registres d'état civil."),
        )
        .await?;

        // Services techniques.
        let e = E::St;
        for (n, user) in [(1, "p.garnier"), (2, "r.masson")] {
            self.workstation(
                Ws::new(e, "Bureau", "BUR", n, &DELL_OPTIPLEX_5090, &SAMSUNG_S24).user(user).bought(2020, 2022),
            )
            .await?;
        }
        let net = self.org(e)?.net;
        self.switch(
            e,
            "ST-SW01",
            &ARUBA_2530,
            "Bureau",
            Some(format!("192.168.{net}.2")),
            "Baie murale du centre technique, lien fibre vers l'hôtel de ville.",
        )
        .await?;
        self.printer(e, "ST-IMP01", &BROTHER_HL, "Bureau", (2018, 2021)).await?;
        self.desk_phone(e, "Bureau", &ALE_8029S, 1030, Some("p.garnier")).await?;
        self.desk_phone(e, "Magasin", &ALE_8029S, 1031, Some("r.masson")).await?;
        self.mobile_kit(
            AssetKind::MobilePhone,
            e,
            &GALAXY_XCOVER7,
            "Bureau",
            Some("r.masson"),
            Some("Téléphone d'astreinte technique (week-ends et nuits)."),
        )
        .await?;
        self.mobile_kit(
            AssetKind::Tablet,
            e,
            &GALAXY_TAB_ACTIVE4,
            "Atelier mécanique",
            None,
            Some("Tablette de terrain : bons d'intervention."),
        )
        .await?;
        self.line(
            e,
            "Alarme centre technique",
            "04 73 55 19 30",
            LineType::Analog,
            "Magasin",
            "Transmetteur d'alarme intrusion.",
        )
        .await?;

        // Médiathèque.
        let e = E::Med;
        self.server(
            e,
            "MED-SRV01",
            &POWEREDGE_T150,
            "Local serveur",
            Some("192.168.202.10".into()),
            "Serveur du SIGB (VLAN 2, serveurs de la médiathèque).",
        )
        .await?;
        self.switch(
            e,
            "MED-SW01",
            &ARUBA_2530,
            "Local serveur",
            None,
            "Baie de la médiathèque, VLAN 2500 des postes publics.",
        )
        .await?;
        let day = self.day((2023, 2023));
        for n in 1..=2 {
            // Public terminals take their address by DHCP on VLAN 2500.
            let mut i = self.base(
                AssetKind::Computer,
                e,
                &format!("MED-EPN-PC{n:02}"),
                &LENOVO_M70Q,
                Some("Espace public numérique"),
                day,
            )?;
            i.comment = text("Poste public (VLAN 2500), session invité effacée à la fermeture.");
            let pc = self.create(i).await?;
            self.monitor(e, &format!("MED-EPN-ECR{n:02}"), &LENOVO_T24I, "Espace public numérique", day, pc).await?;
        }
        for (n, room, user) in [(1, "Bureau", Some("i.moreau")), (2, "Banque de prêt", None)] {
            self.workstation(Ws::new(e, room, "BIB", n, &LENOVO_M70Q, &LENOVO_T24I).user(user).bought(2021, 2023))
                .await?;
        }
        self.printer(e, "MED-IMP01", &HP_M479, "Espace public numérique", (2021, 2023)).await?;
        self.desk_phone(e, "Banque de prêt", &YEALINK_T33G, 1040, Some("i.moreau")).await?;
        let tab_day = self.day((2023, 2023));
        for n in 1..=2 {
            let mut i =
                self.base(AssetKind::Tablet, e, &format!("MED-TAB{n:02}"), &IPAD_9, Some("Banque de prêt"), tab_day)?;
            i.comment = text("Prêt aux usagers sur place.");
            self.create(i).await?;
        }
        self.projector(
            e,
            "MED-VP01",
            &BENQ_TH575,
            "Espace public numérique",
            (2020, 2022),
            Some("Ateliers numériques."),
        )
        .await?;
        self.peripheral(e, "MED-DOUCHETTE01", &ZEBRA_DS2208, "Banque de prêt", (2021, 2023), None).await?;

        // Police municipale.
        let e = E::Pm;
        for (n, room, user) in [(1, "Bureau du chef de poste", "l.roussel"), (2, "Salle de rédaction", "k.diallo")] {
            self.workstation(
                Ws::new(e, room, "PM", n, &DELL_OPTIPLEX_7010, &DELL_P2422H).user(user).bought(2023, 2024),
            )
            .await?;
        }
        self.printer(e, "PM-IMP01", &HP_M404, "Salle de rédaction", (2021, 2023)).await?;
        self.desk_phone(e, "Bureau du chef de poste", &ALE_8068S, 1050, Some("l.roussel")).await?;
        self.desk_phone(e, "Accueil du poste", &ALE_8068S, 1051, Some("k.diallo")).await?;
        self.mobile_kit(AssetKind::MobilePhone, e, &GALAXY_XCOVER7, "Bureau du chef de poste", Some("l.roussel"), None)
            .await?;
        self.mobile_kit(AssetKind::MobilePhone, e, &GALAXY_XCOVER7, "Salle de rédaction", Some("k.diallo"), None)
            .await?;
        self.mobile_kit(
            AssetKind::Tablet,
            e,
            &GALAXY_TAB_ACTIVE4,
            "Salle de rédaction",
            None,
            Some("Terminal de verbalisation électronique (PVe)."),
        )
        .await?;
        Ok(())
    }
}

/// The demo's ticket categories, parents first: (parent, name).
const DEMO_CATEGORIES: &[(Option<&str>, &str)] = &[
    (None, "Poste de travail"),
    (Some("Poste de travail"), "Panne matérielle"),
    (Some("Poste de travail"), "Logiciel"),
    (None, "Impression"),
    (None, "Réseau"),
    (Some("Réseau"), "Brassage"),
    (Some("Réseau"), "Wi-Fi"),
    (None, "Téléphonie"),
    (Some("Téléphonie"), "Poste fixe"),
    (Some("Téléphonie"), "Mobile"),
    (None, "Comptes et accès"),
];

/// One demo ticket and the life it has had so far.
struct DemoTicket {
    e: E,
    request: bool,
    title: &'static str,
    description: &'static str,
    /// A user requester, or else a caller without an account (name, phone).
    requester: Option<&'static str>,
    caller: Option<(&'static str, &'static str)>,
    category: &'static str,
    urgency: i64,
    impact: i64,
    asset: Option<&'static str>,
    technician: Option<&'static str>,
    /// (private, text)
    followups: &'static [(bool, &'static str)],
    /// Time spent on its task, when it has one; `on_site` books it next week.
    minutes: Option<i64>,
    on_site: bool,
    task: Option<&'static str>,
    hardware: Option<&'static str>,
    /// Statuses it went through after creation.
    path: &'static [&'static str],
    solution: Option<&'static str>,
    rating: Option<i64>,
}

const T: DemoTicket = DemoTicket {
    e: E::Dep,
    request: false,
    title: "",
    description: "",
    requester: None,
    caller: None,
    category: "Poste de travail",
    urgency: 3,
    impact: 3,
    asset: None,
    technician: None,
    followups: &[],
    minutes: None,
    on_site: false,
    task: None,
    hardware: None,
    path: &[],
    solution: None,
    rating: None,
};

const DEMO_TICKETS: &[DemoTicket] = &[
    DemoTicket {
        title: "L'imprimante de l'accueil affiche « bourrage papier »",
        description: "Plus aucune impression depuis ce matin, le voyant orange clignote.",
        requester: Some("a.lambert"),
        category: "Impression",
        urgency: 4,
        asset: Some("DEP-ACC-IMP01"),
        ..T
    },
    DemoTicket {
        e: E::Jm,
        title: "Le PC 1 du CDI ne démarre plus",
        description: "Écran noir, le ventilateur tourne. Les élèves utilisent le poste 2 en attendant.",
        requester: Some("cpe.jeanmoulin"),
        category: "Panne matérielle",
        asset: Some("JM-CDI-PC01"),
        technician: Some("tech.colleges"),
        followups: &[
            (false, "Je passe jeudi matin avec une alimentation de rechange."),
            (true, "Alim probablement HS (même lot que MC)."),
        ],
        minutes: Some(45),
        on_site: true,
        task: Some("Remplacer l'alimentation et vérifier le disque."),
        hardware: Some("Alimentation 260 W HP ProDesk 400"),
        path: &["planned"],
        ..T
    },
    DemoTicket {
        e: E::Ec,
        title: "Téléphone du guichet 2 sans tonalité",
        description: "Appel reçu à la hotline : le poste ne donne plus de tonalité depuis le déménagement du bureau.",
        caller: Some(("Nadia Henry", "01 47 10 10 21")),
        category: "Poste fixe",
        urgency: 4,
        impact: 2,
        technician: Some("tech.telecom"),
        followups: &[(false, "Le câble était débranché de la prise murale, remis en place.")],
        minutes: Some(20),
        path: &["solved"],
        solution: Some("Câble du poste rebranché sur la prise murale, tonalité revenue."),
        ..T
    },
    DemoTicket {
        e: E::St,
        request: true,
        title: "Création d'un compte pour un saisonnier",
        description:
            "Arrivée de Lucas Perret lundi aux services techniques, besoin d'une session et d'une adresse e-mail.",
        requester: Some("p.garnier"),
        category: "Comptes et accès",
        urgency: 2,
        impact: 1,
        technician: Some("tech.mairie"),
        followups: &[(false, "En attente de la fiche d'arrivée signée par la DRH.")],
        path: &["pending"],
        ..T
    },
    DemoTicket {
        e: E::Mc,
        title: "Wi-Fi très lent en salle des professeurs",
        description: "Les enseignants n'arrivent plus à ouvrir l'ENT entre 10h et 11h.",
        requester: Some("cpe.mariecurie"),
        category: "Wi-Fi",
        urgency: 3,
        impact: 4,
        technician: Some("tech.colleges"),
        path: &["assigned"],
        ..T
    },
    DemoTicket {
        e: E::Med,
        title: "Poste public : écran qui clignote",
        description: "Signalé par un usager via le QR code de l'étiquette.",
        caller: Some(("Jean Dupuis", "06 12 34 56 78")),
        category: "Panne matérielle",
        urgency: 2,
        impact: 2,
        ..T
    },
    DemoTicket {
        e: E::Acc,
        title: "Imprimante de l'accueil : toner vide",
        description: "Message « toner bas » puis plus d'impression.",
        requester: Some("m.lambert"),
        category: "Impression",
        urgency: 3,
        impact: 2,
        asset: Some("ACC-IMP01"),
        technician: Some("tech.mairie"),
        minutes: Some(15),
        path: &["solved", "closed"],
        solution: Some("Toner remplacé (stock du service)."),
        rating: Some(5),
        ..T
    },
    DemoTicket {
        e: E::Lm,
        title: "Prise réseau morte en salle 12",
        description: "Le poste de la salle 12 n'a plus de réseau, la prise murale est peut-être à rebrasser.",
        requester: Some("cpe.louisemichel"),
        category: "Brassage",
        urgency: 3,
        impact: 3,
        technician: Some("tech.colleges"),
        minutes: Some(60),
        on_site: true,
        task: Some("Tester la prise au testeur et rebrasser dans la baie."),
        hardware: Some("Testeur de câble, cordons RJ45"),
        path: &["planned"],
        ..T
    },
];

/// 9:00 (Paris) on the Monday after today: when the demo's on-site appointments are booked.
fn next_monday_9am() -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, TimeZone};
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let ahead = 7 - i64::from(today.weekday().num_days_from_monday());
    let monday = today + chrono::Duration::days(ahead);
    let nine = monday.and_hms_opt(9, 0, 0).unwrap_or_default();
    chrono_tz::Europe::Paris
        .from_local_datetime(&nine)
        .earliest()
        .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use parc_core::assets::LinkKind;
    use parc_core::query::AssetQuery;
    use parc_core::validate::{luhn_valid, normalize_iccid, normalize_imei, normalize_mac};
    use parc_store::testing::TestDb;
    use std::collections::{BTreeSet, HashSet};

    #[test]
    fn check_digits() {
        // Reference IMEI and ICCID from parc-core's own tests.
        assert_eq!(luhn_digit("49015420323751"), '8');
        assert_eq!(luhn_digit("893315031908000000"), '9');
        assert_eq!(luhn_digit("7992739871"), '3');
    }

    #[test]
    fn mail_addresses() {
        assert_eq!(mail_local("Émilie Leroy"), "emilie.leroy");
        assert_eq!(mail_local("Jean-Pierre Faure"), "jean-pierre.faure");
        assert_eq!(mail_local("Nadège Colin"), "nadege.colin");
    }

    async fn root_of(db: &TestDb) -> EntityId {
        let mut tx = db.store.write().await.unwrap();
        let root = parc_store::entities::create(
            &mut tx,
            &Actor::system("test"),
            &EntityInput { name: Some("Parc".into()), parent_id: None, comment: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        root.id
    }

    async fn check(db: TestDb) {
        let root = root_of(&db).await;
        let summary = load(&db.store, root, "password").await.unwrap();
        let backend = db.store.backend().name();
        assert!(summary.assets >= 280, "{backend}: only {} assets", summary.assets);
        assert_eq!(summary.password, "password");

        let mut c = db.store.read().await.unwrap();
        let ents = parc_store::entities::list_all(&mut c).await.unwrap();
        assert_eq!(ents.len(), summary.entities + 1, "{backend}");
        let ids: Vec<i64> = ents.iter().map(|e| e.id.0).collect();
        // The status wall's sample: every colour, a switch DOWN and its server UNREACHABLE.
        let states = parc_store::monitoring::status::statuses(
            &mut c,
            &parc_store::monitoring::status::StatusFilter { entities: ids.clone(), ..Default::default() },
            chrono::Utc::now().timestamp_millis(),
        )
        .await
        .unwrap();
        let count = |st: &str| states.iter().filter(|s| s.state == st).count();
        assert_eq!((count("DOWN"), count("UNREACHABLE"), count("WARNING")), (1, 1, 1), "{backend}: {states:?}");
        assert!(count("UP") >= 5 && count("OK") >= 2, "{backend}: {states:?}");
        assert!(states.iter().all(|s| !s.enabled), "{backend}: demo addresses are fictitious, checks stay off");
        let scope = Scope { full: ents.iter().map(|e| e.id).collect(), own_only: Default::default() };
        let assets = parc_store::assets::list_all(
            &mut c,
            db.store.backend(),
            &scope,
            UserId(0),
            &AssetQuery::default(),
            100_000,
        )
        .await
        .unwrap();
        assert_eq!(assets.len(), summary.assets, "{backend}");
        // Two machines come from real agent samples, with the addresses of where they were taken.
        let agent_fed: HashSet<i64> = parc_store::inventory::agents(&mut c, &scope, UserId(0), None, 1, 100)
            .await
            .unwrap()
            .items
            .iter()
            .map(|a| a.asset_id)
            .collect();
        assert_eq!(agent_fed.len(), 2, "{backend}");

        // Every kind and every status.
        let kinds: HashSet<AssetKind> = assets.iter().map(|a| a.kind).collect();
        for k in AssetKind::ALL {
            assert!(kinds.contains(k), "{backend}: no {k}");
        }
        let statuses: HashSet<AssetStatus> = assets.iter().map(|a| a.status).collect();
        for s in AssetStatus::ALL {
            assert!(statuses.contains(s), "{backend}: no asset {s}");
        }
        let in_use = assets.iter().filter(|a| a.status == AssetStatus::InUse).count();
        assert!(in_use * 4 > assets.len() * 3, "{backend}: mostly in use");

        // Identifiers are valid and unique.
        let mut seen = HashSet::new();
        for a in &assets {
            for (field, v) in [
                ("tag", &a.asset_tag),
                ("serial", &a.serial),
                ("mac", &a.mac),
                ("ip", &a.ip),
                ("imei", &a.imei),
                ("iccid", &a.iccid),
            ] {
                if let Some(v) = v {
                    assert!(seen.insert((field, v.clone())), "{backend}: duplicate {field} {v} on {}", a.name);
                }
            }
            if let Some(imei) = &a.imei {
                assert_eq!(normalize_imei(imei).as_deref(), Ok(imei.as_str()));
                assert!(luhn_valid(imei));
            }
            if let Some(iccid) = &a.iccid {
                assert_eq!(iccid.len(), 19);
                assert!(iccid.starts_with("8933"), "{iccid}");
                assert_eq!(normalize_iccid(iccid).as_deref(), Ok(iccid.as_str()));
                assert!(a.has_puk, "{backend}: SIM {} without PUK", a.name);
            }
            if let Some(mac) = &a.mac {
                assert_eq!(normalize_mac(mac).as_deref(), Ok(mac.as_str()));
            }
            if let Some(ip) = a.ip.as_ref().filter(|_| !agent_fed.contains(&a.id.0)) {
                assert!(ip.starts_with("192.168.2"), "{backend}: {} at {ip}", a.name);
            }
            if a.kind == AssetKind::Printer {
                assert!(a.ip.as_deref().is_some_and(|ip| ip.starts_with("192.168.209.")), "{}", a.name);
            }
            if matches!(a.kind, AssetKind::MobilePhone | AssetKind::Tablet) {
                assert!(a.imei.is_some(), "{backend}: {} without IMEI", a.name);
            }
        }
        let puk = assets.iter().find(|a| a.kind == AssetKind::SimCard).unwrap();
        let mut tx = db.store.write().await.unwrap();
        let code = parc_store::assets::reveal_puk(&mut tx, &Actor::system("test"), db.store.cipher(), puk)
            .await
            .unwrap()
            .unwrap();
        assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()));
        drop(tx);

        // Links of each kind.
        let mut link_kinds = HashSet::new();
        let mut links = 0;
        for a in
            assets.iter().filter(|a| matches!(a.kind, AssetKind::Monitor | AssetKind::SimCard | AssetKind::PhoneLine))
        {
            for l in parc_store::assets::links_of(&mut c, a.id).await.unwrap() {
                if l.from_asset_id == a.id {
                    link_kinds.insert(l.kind);
                    links += 1;
                }
            }
        }
        for k in LinkKind::ALL {
            assert!(link_kinds.contains(k), "{backend}: no {k} link");
        }
        assert!(links > 100, "{backend}: {links} links");

        // Users: every profile, the shared password, e-mails and phones.
        let users = parc_store::users::list(&mut c, &ids, None, 1000).await.unwrap();
        assert_eq!(users.len(), summary.users, "{backend}");
        let mut profiles = BTreeSet::new();
        for u in &users {
            for g in parc_store::users::grants(&mut c, u.id).await.unwrap().0 {
                profiles.insert(g.profile.as_str());
            }
            assert!(u.email.as_deref().is_some_and(|m| m.contains('@')), "{}", u.login);
        }
        for p in Profile::ALL {
            assert!(profiles.contains(p.as_str()), "{backend}: no {p}");
        }
        let (_, hash) = parc_store::users::by_login(&mut c, "hotline").await.unwrap().unwrap();
        assert!(parc_store::secrets::verify_password("password", &hash.unwrap()));

        let settings = parc_store::settings::get(&mut c).await.unwrap();
        assert_eq!(settings.organisation_name, COUNTY_NAME);
        assert_eq!(settings.hotline_number, HOTLINE_NUMBER);
        drop(c);

        // A second load is refused and changes nothing.
        let err = load(&db.store, root, "password").await.unwrap_err();
        assert!(err.to_string().contains("already holds"), "{err}");
        let mut c = db.store.read().await.unwrap();
        assert_eq!(count_assets(&mut c).await.unwrap(), summary.assets as i64);
        assert_eq!(parc_store::users::count(&mut c).await.unwrap(), summary.users as i64);
        // Hand every connection back while this runtime still runs, before TestDb's Drop
        // blocks it to drop the database.
        drop(c);
        db.store.close().await;
    }

    #[tokio::test]
    async fn loads_on_sqlite() {
        check(TestDb::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loads_on_postgres() {
        if let Some(db) = TestDb::postgres().await {
            check(db).await;
        }
    }

    #[tokio::test]
    async fn keeps_a_chosen_organisation_name() {
        let db = TestDb::sqlite().await;
        let root = root_of(&db).await;
        let mut tx = db.store.write().await.unwrap();
        let mut s = parc_store::settings::get(&mut tx).await.unwrap();
        s.organisation_name = "Ville de Saint-Aubin".into();
        parc_store::settings::put(&mut tx, &Actor::system("test"), &s).await.unwrap();
        tx.commit().await.unwrap();
        load(&db.store, root, "password").await.unwrap();
        let mut c = db.store.read().await.unwrap();
        assert_eq!(parc_store::settings::get(&mut c).await.unwrap().organisation_name, "Ville de Saint-Aubin");
    }

    #[tokio::test]
    async fn refuses_a_missing_root_and_rolls_back_on_error() {
        let db = TestDb::sqlite().await;
        let err = load(&db.store, EntityId(4242), "password").await.unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        // A login already taken makes the whole load fail, leaving nothing behind.
        let root = root_of(&db).await;
        let mut tx = db.store.write().await.unwrap();
        let taken = UserInput { login: Some("hotline".into()), entity_id: Some(root.0), ..Default::default() };
        parc_store::users::create(&mut tx, &Actor::system("test"), &taken, None).await.unwrap();
        tx.commit().await.unwrap();
        let err = load(&db.store, root, "password").await.unwrap_err();
        assert!(format!("{err:#}").contains("hotline"), "{err:#}");
        let mut c = db.store.read().await.unwrap();
        assert_eq!(parc_store::entities::list_all(&mut c).await.unwrap().len(), 1);
        assert_eq!(parc_store::users::count(&mut c).await.unwrap(), 1);
    }
}

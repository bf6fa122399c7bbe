//! `parc`: the one binary. `parc serve` runs the server on an embedded SQLite file by default;
//! the other subcommands administer the same database.

mod agent_cmd;
mod bench;
mod bench_campaign;
mod bench_helpdesk;
mod bench_inventory;
mod bench_monitoring;
mod config;
mod demo;
mod poller_cmd;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use config::{Config, Overrides};
use parc_core::permissions::{Grant, Profile};
use parc_core::EntityId;
use parc_store::entities::{self, EntityInput};
use parc_store::users::{self, UserInput};
use parc_store::{secrets, Actor, Cipher, Store};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "parc", version, about = "Parc: IT asset management, helpdesk and monitoring server")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct GlobalArgs {
    /// Data directory (SQLite database, secret key). Env: PARC_DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB. Env: PARC_DATABASE_URL.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// A TOML configuration file (see `parc default-config`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address:port to listen on. Env: PARC_LISTEN.
        #[arg(long)]
        listen: Option<String>,
        /// Load the sample organisation first (only into a database without assets).
        #[arg(long)]
        demo: bool,
    },
    /// Load the sample organisation (county council, three schools, town hall) and exit.
    Demo,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage local accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write a consistent copy of the live SQLite database to FILE.
    Backup { file: PathBuf },
    /// Print a commented example configuration file.
    DefaultConfig,
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Inventory this machine and send it to a server (GLPI agent JSON protocol), or write it to a file.
    Agent(agent_cmd::AgentArgs),
    /// Run the monitoring checks assigned to this poller and push their results to a server.
    Poller(poller_cmd::PollerArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account (the password is read from stdin with --password-stdin, else generated and printed).
    Add {
        login: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Entity id (default: the root entity).
        #[arg(long)]
        entity: Option<i64>,
        /// super_admin, admin, technician, hotline, observer or requester, on --entity.
        #[arg(long)]
        profile: Option<String>,
        /// The profile also applies to sub-entities.
        #[arg(long)]
        recursive: bool,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (from stdin with --password-stdin, else generated and printed).
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for USER and print it once (only its hash is stored).
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::DefaultConfig = cli.command {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    // The agent runs on machines without a Parc server: no configuration, no database.
    let cli = match cli.command {
        Command::Agent(args) => return agent_cmd::main(args),
        Command::Poller(args) => return poller_cmd::main(args),
        command => Cli { command, ..cli },
    };
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    let overrides =
        Overrides { data_dir: cli.global.data_dir.clone(), listen, database_url: cli.global.database_url.clone() };
    let cfg = Config::load(cli.global.config.as_deref(), &overrides)?;
    init_logging(&cfg);
    Config::warn_unknown_env();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(cli.command, cfg))
}

fn init_logging(cfg: &Config) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open_store(cfg: &Config) -> Result<Store> {
    let key = cfg.secret_key()?;
    let url = cfg.database_url();
    Store::open(&url, Cipher::new(key))
        .await
        .with_context(|| format!("opening the database {}", parc_store::redact_url(&url)))
}

/// First start: a root entity and a super-admin `admin`. Returns the root and, when the account
/// was just created, its password to show once.
async fn bootstrap(store: &Store, cfg: &Config) -> Result<(EntityId, Option<String>)> {
    let mut c = store.read().await?;
    let existing = entities::list_all(&mut c).await?;
    let has_users = users::count(&mut c).await? > 0;
    drop(c);
    let mut tx = store.write().await?;
    let actor = Actor::system("setup");
    let root = match existing.iter().find(|e| e.parent_id.is_none()) {
        Some(e) => e.id,
        None => {
            let name = parc_store::settings::get(&mut tx).await?.organisation_name;
            entities::create(&mut tx, &actor, &EntityInput { name: Some(name), parent_id: None, comment: None })
                .await?
                .id
        }
    };
    let mut shown = None;
    if !has_users {
        let (password, generated) = if cfg.admin_password.is_empty() {
            (secrets::random_token(12), true)
        } else {
            (cfg.admin_password.clone(), false)
        };
        if let Err(code) = secrets::check_password_policy(&password) {
            bail!("PARC_ADMIN_PASSWORD is not acceptable ({code}): use at least 10 characters");
        }
        let pw = password.clone();
        let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&pw)).await??;
        let admin = users::create(
            &mut tx,
            &actor,
            &UserInput {
                login: Some("admin".into()),
                display_name: Some("Administrateur".into()),
                entity_id: Some(root.0),
                ..Default::default()
            },
            Some(&hash),
        )
        .await?;
        users::set_grants(
            &mut tx,
            &actor,
            admin.id,
            &[Grant { entity_id: root, profile: Profile::SuperAdmin, recursive: true }],
        )
        .await?;
        if generated {
            shown = Some(password);
        } else {
            shown = Some(String::new());
        }
    }
    tx.commit().await?;
    Ok((root, shown))
}

async fn read_password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let p = line.trim_end_matches(['\r', '\n']).to_owned();
        if let Err(code) = secrets::check_password_policy(&p) {
            bail!("password refused ({code}): use at least 10 characters");
        }
        Ok((p, false))
    } else {
        Ok((secrets::random_token(12), true))
    }
}

async fn hash(password: String) -> Result<String> {
    Ok(tokio::task::spawn_blocking(move || secrets::hash_password(&password)).await??)
}

async fn run(command: Command, cfg: Config) -> Result<()> {
    match command {
        Command::DefaultConfig => unreachable!("handled before start-up"),
        Command::Serve { demo, .. } => serve(cfg, demo).await,
        Command::Demo => {
            let store = open_store(&cfg).await?;
            let (root, shown) = bootstrap(&store, &cfg).await?;
            let s = demo::load(&store, root, "password").await?;
            println!(
                "Demo loaded: {} entities, {} locations, {} users, {} assets. Demo accounts use the password '{}'.",
                s.entities, s.locations, s.users, s.assets, s.password
            );
            print_admin(shown.as_deref());
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&cfg).await?;
            println!("database {} is up to date", store.backend().name());
            Ok(())
        }
        Command::User(cmd) => user_command(cmd, &cfg).await,
        Command::Token(TokenCommand::Create { user, name }) => {
            let store = open_store(&cfg).await?;
            let mut tx = store.write().await?;
            let (u, _) = users::by_login(&mut tx, &user).await?.with_context(|| format!("no user '{user}'"))?;
            let (_t, token) = users::create_token(&mut tx, &Actor::system("cli"), u.id, &name).await?;
            tx.commit().await?;
            println!("{token}");
            eprintln!("This token is shown once; Parc keeps only its hash. Use it as: Authorization: Bearer <token>");
            Ok(())
        }
        Command::Backup { file } => {
            let store = open_store(&cfg).await?;
            store.backup(&file).await?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::Bench(cmd) => bench::run(cmd, &cfg).await,
        Command::Agent(args) => agent_cmd::run(args).await,
        Command::Poller(_) => unreachable!("dispatched before start-up"),
    }
}

fn print_admin(shown: Option<&str>) {
    match shown {
        Some("") => println!("Sign in as 'admin' with the password from PARC_ADMIN_PASSWORD."),
        Some(p) => println!("Sign in as 'admin' with the one-time password: {p}\n(change it on the 'My account' page; it will not be shown again)"),
        None => {}
    }
}

async fn serve(cfg: Config, demo: bool) -> Result<()> {
    let store = open_store(&cfg).await?;
    let (root, shown) = bootstrap(&store, &cfg).await?;
    if demo {
        let any_asset = {
            let mut c = store.read().await?;
            let tree = entities::tree(&mut c).await?;
            let scope = parc_core::permissions::Scope {
                full: tree.subtree(root).into_iter().collect(),
                own_only: Default::default(),
            };
            !parc_store::assets::counts(&mut c, &scope, parc_core::UserId(0)).await?.is_empty()
        };
        if !any_asset {
            let s = demo::load(&store, root, "password").await?;
            println!("Demo organisation loaded: {} assets, {} users (password '{}').", s.assets, s.users, s.password);
        } else {
            println!("Demo not loaded: the database already holds assets.");
        }
    }
    let web = parc_web::WebConfig {
        secure_cookies: cfg.secure_cookies,
        session_hours: cfg.session_hours,
        max_body_bytes: cfg.max_body_mb * 1024 * 1024,
    };
    let state = parc_web::AppState::new(store.clone(), web).await?;
    let mail_worker = parc_web::spawn_worker(store.clone());
    let scheduler = cfg.monitoring.then(|| start_monitoring(&store, &cfg));
    let app = parc_web::router(state).layer(axum::Extension(mail_worker.waker()));
    let listener =
        tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = store.backend().name(), "Parc listening");
    // The URL line comes last so that scripts can read the banner up to it.
    print_admin(shown.as_deref());
    println!("Parc is running at http://{addr}/ (database: {})", store.backend().name());
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(s) = scheduler {
        s.shutdown().await;
    }
    mail_worker.shutdown().await;
    store.close().await;
    Ok(())
}

/// Starts this node's check scheduler (the central checks: those of no remote poller).
fn start_monitoring(store: &Store, cfg: &Config) -> parc_monitor::scheduler::Scheduler {
    use parc_monitor::scheduler::{Scheduler, SchedulerConfig, Stats, StoreSource};
    let mut limits = parc_monitor::Limits { max_concurrent: cfg.monitoring_concurrency, ..Default::default() };
    limits.user_macros.insert(1, cfg.plugin_dir.clone());
    let runner = std::sync::Arc::new(parc_monitor::Runner::new(limits));
    let owner = format!("{}:{}", parc_web::jobs::worker_id(), parc_store::secrets::random_token(4));
    let source = StoreSource { store: store.clone(), owner, poller: 0 };
    tracing::info!(concurrency = cfg.monitoring_concurrency, plugin_dir = %cfg.plugin_dir, "monitoring scheduler started");
    Scheduler::start(source, runner, SchedulerConfig::default(), std::sync::Arc::new(Stats::default()))
}

async fn user_command(cmd: UserCommand, cfg: &Config) -> Result<()> {
    let store = open_store(cfg).await?;
    let (root, _) = bootstrap(&store, cfg).await?;
    let actor = Actor::system("cli");
    match cmd {
        UserCommand::Add { login, name, email, entity, profile, recursive, password_stdin } => {
            let (password, generated) = read_password(password_stdin).await?;
            let h = hash(password.clone()).await?;
            let entity = EntityId(entity.unwrap_or(root.0));
            let mut tx = store.write().await?;
            let u = users::create(
                &mut tx,
                &actor,
                &UserInput {
                    login: Some(login),
                    display_name: name,
                    email,
                    entity_id: Some(entity.0),
                    ..Default::default()
                },
                Some(&h),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(p) = profile {
                let profile: Profile = p.parse().map_err(|e: String| anyhow::anyhow!("--profile: {e}"))?;
                users::set_grants(&mut tx, &actor, u.id, &[Grant { entity_id: entity, profile, recursive }]).await?;
            }
            tx.commit().await?;
            println!("user '{}' created (id {})", u.login, u.id);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Passwd { login, password_stdin } => {
            let (password, generated) = read_password(password_stdin).await?;
            let h = hash(password.clone()).await?;
            let mut tx = store.write().await?;
            let (u, _) = users::by_login(&mut tx, &login).await?.with_context(|| format!("no user '{login}'"))?;
            users::set_password(&mut tx, &actor, u.id, &h, None).await?;
            tx.commit().await?;
            println!("password of '{}' changed", u.login);
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            let mut c = store.read().await?;
            let all: Vec<i64> = entities::list_all(&mut c).await?.iter().map(|e| e.id.0).collect();
            for u in users::list(&mut c, &all, None, 100_000).await? {
                let g = users::grants(&mut c, u.id).await?;
                let profiles: Vec<String> =
                    g.0.iter()
                        .map(|g| format!("{}@{}{}", g.profile, g.entity_id, if g.recursive { "+" } else { "" }))
                        .collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.login,
                    u.display_name,
                    if u.active { "active" } else { "disabled" },
                    profiles.join(",")
                );
            }
        }
    }
    Ok(())
}

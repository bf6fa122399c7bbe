//! Bulk loading of monitored hosts and services for `parc bench monitoring` (tens of thousands
//! of checks in seconds): multi-row INSERTs, no audit. The definition is validated here, the
//! rest is the bench's. Nothing here is reachable from a request.

use crate::{now, Backend, Result, StoreError};
use parc_core::monitoring::check::CheckDefinition;
use parc_core::EntityId;
use sqlx::AnyConnection;

/// Creates `services` checks running `check` every `interval_s`, spread over `hosts` hosts (whose
/// own host checks are disabled, so exactly `services` checks run), the first runs spread evenly
/// over one interval starting at `start_ms`. Returns the number of services created.
#[expect(clippy::too_many_arguments, reason = "a bench-only loader with plain parameters")]
pub async fn seed(
    c: &mut AnyConnection,
    backend: Backend,
    entity: EntityId,
    hosts: usize,
    services: usize,
    check: &CheckDefinition,
    address: &str,
    interval_s: i64,
    start_ms: i64,
) -> Result<usize> {
    check.validate()?;
    let hosts = hosts.clamp(1, services.max(1));
    let definition = serde_json::to_string(check).map_err(|e| StoreError::Config(e.to_string()))?;
    let host_check = serde_json::to_string(&crate::monitoring::templates_host_check())
        .map_err(|e| StoreError::Config(e.to_string()))?;
    let t = now();
    let (base,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM monitor_hosts").fetch_one(&mut *c).await?;
    for chunk in (0..hosts).collect::<Vec<_>>().chunks(200) {
        let mut q =
            String::from("INSERT INTO monitor_hosts (id, entity_id, name, address, created_at, updated_at) VALUES ");
        for (i, h) in chunk.iter().enumerate() {
            if i > 0 {
                q.push_str(", ");
            }
            q.push_str(&format!(
                "({}, {}, 'bench-{}', $1, $2, $2)",
                base + 1 + *h as i64,
                entity.0,
                base + 1 + *h as i64
            ));
        }
        sqlx::query(&q).bind(address).bind(&t).execute(&mut *c).await?;
        let mut q = String::from(
            "INSERT INTO monitor_services (host_id, entity_id, is_host, name, definition, check_interval_s, \
             retry_interval_s, max_attempts, timeout_s, enabled, next_check_ms, created_at, updated_at) VALUES ",
        );
        for (i, h) in chunk.iter().enumerate() {
            if i > 0 {
                q.push_str(", ");
            }
            q.push_str(&format!(
                "({}, {}, 1, 'Host', $1, 300, 60, 3, 10, 0, $2, $3, $3)",
                base + 1 + *h as i64,
                entity.0
            ));
        }
        sqlx::query(&q).bind(&host_check).bind(start_ms).bind(&t).execute(&mut *c).await?;
    }
    if backend == Backend::Postgres {
        // Ids were chosen here: move the sequence past them.
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('monitor_hosts', 'id'), (SELECT MAX(id) FROM monitor_hosts))",
        )
        .execute(&mut *c)
        .await?;
    }
    let spread = interval_s * 1000;
    let rows: Vec<usize> = (0..services).collect();
    for chunk in rows.chunks(300) {
        let mut q = String::from(
            "INSERT INTO monitor_services (host_id, entity_id, is_host, name, definition, check_interval_s, \
             retry_interval_s, max_attempts, timeout_s, enabled, next_check_ms, created_at, updated_at) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                q.push_str(", ");
            }
            let host = base + 1 + (*n % hosts) as i64;
            let due = start_ms + (*n as i64 * spread) / services.max(1) as i64;
            q.push_str(&format!(
                "({host}, {}, 0, 'svc-{n}', $1, {interval_s}, {interval_s}, 3, 10, 1, {due}, $2, $2)",
                entity.0
            ));
        }
        sqlx::query(&q).bind(&definition).bind(&t).execute(&mut *c).await?;
    }
    Ok(services)
}

//! Bulk loading of tickets with their follow-ups and tasks, for `parc bench helpdesk` (a
//! million tickets in minutes rather than hours): multi-row INSERTs with ids chosen here, no
//! audit and no SLA computation. The caller supplies rows that already satisfy the schema's
//! rules (valid status, levels, deadlines); nothing here is reachable from a request.

use crate::sql::Sql;
use crate::{Backend, Result};
use sqlx::AnyConnection;

/// One ticket as stored, with its follow-ups and tasks.
#[derive(Debug, Clone, Default)]
pub struct BulkTicket {
    pub entity_id: i64,
    pub kind: &'static str,
    pub status: &'static str,
    pub title: String,
    pub description: String,
    pub requester_user_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_phone: Option<String>,
    pub category_id: Option<i64>,
    pub location_id: Option<i64>,
    pub urgency: i64,
    pub impact: i64,
    pub priority: i64,
    pub assignee_user_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub own_due_at: Option<String>,
    pub own_warn_at: Option<String>,
    pub resolve_due_at: Option<String>,
    pub resolve_warn_at: Option<String>,
    pub owned_at: Option<String>,
    pub solved_at: Option<String>,
    pub closed_at: Option<String>,
    pub solution: Option<String>,
    pub followups: Vec<BulkFollowup>,
    pub tasks: Vec<BulkTask>,
}

#[derive(Debug, Clone, Default)]
pub struct BulkFollowup {
    pub author_user_id: i64,
    pub author_label: String,
    pub is_private: bool,
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default)]
pub struct BulkTask {
    pub technician_user_id: i64,
    pub description: String,
    pub duration_minutes: i64,
    pub on_site: bool,
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    pub done_at: Option<String>,
    pub created_at: String,
}

/// Rows per INSERT statement (well under both backends' bind-parameter limits).
const ROWS_PER_STATEMENT: usize = 400;

/// Inserts `tickets` with ids following the current maximum, and returns the first id given.
/// Runs in the caller's transaction; on PostgreSQL the id sequences are moved past the rows.
pub async fn insert_tickets(c: &mut AnyConnection, backend: Backend, tickets: &[BulkTicket]) -> Result<i64> {
    let next = |table: &'static str| format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}");
    let (first,): (i64,) = sqlx::query_as(&next("tickets")).fetch_one(&mut *c).await?;
    let (mut followup_id,): (i64,) = sqlx::query_as(&next("ticket_followups")).fetch_one(&mut *c).await?;
    let (mut task_id,): (i64,) = sqlx::query_as(&next("ticket_tasks")).fetch_one(&mut *c).await?;
    for (chunk_no, chunk) in tickets.chunks(ROWS_PER_STATEMENT).enumerate() {
        let base = first + (chunk_no * ROWS_PER_STATEMENT) as i64;
        insert_ticket_rows(c, base, chunk).await?;
        let mut followups = Vec::new();
        let mut tasks = Vec::new();
        for (i, t) in chunk.iter().enumerate() {
            followups.extend(t.followups.iter().map(|f| (base + i as i64, f)));
            tasks.extend(t.tasks.iter().map(|k| (base + i as i64, k)));
        }
        for part in followups.chunks(ROWS_PER_STATEMENT) {
            insert_followup_rows(c, followup_id, part).await?;
            followup_id += part.len() as i64;
        }
        for part in tasks.chunks(ROWS_PER_STATEMENT) {
            insert_task_rows(c, task_id, part).await?;
            task_id += part.len() as i64;
        }
    }
    if backend == Backend::Postgres {
        for table in ["tickets", "ticket_followups", "ticket_tasks"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(first)
}

/// `VALUES (…), (…)` rows: `cells` pushes one row's values.
fn values<T>(sql: &mut Sql, rows: &[T], mut cells: impl FnMut(&mut Sql, usize, &T)) {
    for (i, row) in rows.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        cells(sql, i, row);
        sql.push(")");
    }
}

async fn insert_ticket_rows(c: &mut AnyConnection, base: i64, rows: &[BulkTicket]) -> Result<()> {
    let mut sql = Sql::new(
        "INSERT INTO tickets (id, entity_id, kind, status, title, description, requester_user_id, requester_name, \
         requester_phone, category_id, location_id, urgency, impact, priority, assignee_user_id, created_by_label, \
         source, solution, own_due_at, own_warn_at, resolve_due_at, resolve_warn_at, owned_at, solved_at, closed_at, \
         search_text, created_at, updated_at) VALUES ",
    );
    values(&mut sql, rows, |sql, i, t| {
        let id = base + i as i64;
        let search =
            [Some(format!("#{id}")), Some(t.title.clone()), t.requester_name.clone(), t.requester_phone.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
        sql.bind_int(id).push(", ").bind_int(t.entity_id).push(", ").bind_text(t.kind).push(", ");
        sql.bind_text(t.status).push(", ").bind_text(t.title.clone()).push(", ");
        sql.bind_text(t.description.clone()).push(", ").bind_opt_int(t.requester_user_id).push(", ");
        sql.bind_opt_text(t.requester_name.clone()).push(", ").bind_opt_text(t.requester_phone.clone()).push(", ");
        sql.bind_opt_int(t.category_id).push(", ").bind_opt_int(t.location_id).push(", ");
        sql.bind_int(t.urgency).push(", ").bind_int(t.impact).push(", ").bind_int(t.priority).push(", ");
        sql.bind_opt_int(t.assignee_user_id).push(", 'bench', 'bench', ").bind_opt_text(t.solution.clone());
        for v in [&t.own_due_at, &t.own_warn_at, &t.resolve_due_at, &t.resolve_warn_at] {
            sql.push(", ").bind_opt_text(v.clone());
        }
        for v in [&t.owned_at, &t.solved_at, &t.closed_at] {
            sql.push(", ").bind_opt_text(v.clone());
        }
        sql.push(", ").bind_text(search).push(", ").bind_text(t.created_at.clone());
        sql.push(", ").bind_text(t.updated_at.clone());
    });
    sql.execute(c).await?;
    Ok(())
}

async fn insert_followup_rows(c: &mut AnyConnection, base: i64, rows: &[(i64, &BulkFollowup)]) -> Result<()> {
    let mut sql = Sql::new(
        "INSERT INTO ticket_followups (id, ticket_id, author_user_id, author_label, is_private, body, created_at) \
         VALUES ",
    );
    values(&mut sql, rows, |sql, i, (ticket, f)| {
        sql.bind_int(base + i as i64).push(", ").bind_int(*ticket).push(", ").bind_int(f.author_user_id);
        sql.push(", ").bind_text(f.author_label.clone()).push(", ").bind_int(i64::from(f.is_private));
        sql.push(", ").bind_text(f.body.clone()).push(", ").bind_text(f.created_at.clone());
    });
    sql.execute(c).await?;
    Ok(())
}

async fn insert_task_rows(c: &mut AnyConnection, base: i64, rows: &[(i64, &BulkTask)]) -> Result<()> {
    let mut sql = Sql::new(
        "INSERT INTO ticket_tasks (id, ticket_id, author_user_id, technician_user_id, description, on_site, \
         duration_minutes, planned_start, planned_end, done, done_at, created_at, updated_at) VALUES ",
    );
    values(&mut sql, rows, |sql, i, (ticket, k)| {
        sql.bind_int(base + i as i64).push(", ").bind_int(*ticket).push(", ").bind_int(k.technician_user_id);
        sql.push(", ").bind_int(k.technician_user_id).push(", ").bind_text(k.description.clone());
        sql.push(", ").bind_int(i64::from(k.on_site)).push(", ").bind_int(k.duration_minutes);
        sql.push(", ").bind_opt_text(k.planned_start.clone()).push(", ").bind_opt_text(k.planned_end.clone());
        sql.push(", ").bind_int(i64::from(k.done_at.is_some())).push(", ").bind_opt_text(k.done_at.clone());
        sql.push(", ").bind_text(k.created_at.clone()).push(", ").bind_text(k.created_at.clone());
    });
    sql.execute(c).await?;
    Ok(())
}

//! What finishing an async operation does to the world.
//!
//! CF jobs, SM operations and entitlement jobs are all "due at time T". [`World::advance`] applies
//! the ones that are due, in due order. Failure messages and error codes follow btp-api.md §2.7
//! (job `FAILED` with `CF-UnableToPerform` 10009, instance keeps `last_operation` failed) and §2.5
//! (`CF-SpaceDeletionFailed` 290008 when an instance operation is still running).

use serde_json::json;

use super::{LastOperation, World};

/// An unfinished operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pending {
    pub due_ms: u64,
    pub what: PendingKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PendingKind {
    CfJob(String),
    SmOperation(String),
    EntitlementJob(String),
}

impl World {
    pub(crate) fn rebuild_pending(&mut self) {
        let mut pending = Vec::new();
        for job in self.jobs.values().filter(|j| j.finished.is_none()) {
            pending.push(Pending {
                due_ms: job.due_ms,
                what: PendingKind::CfJob(job.guid.clone()),
            });
        }
        for op in self
            .sm_operations
            .values()
            .filter(|o| o.state == "in progress")
        {
            pending.push(Pending {
                due_ms: op.due_ms,
                what: PendingKind::SmOperation(op.id.clone()),
            });
        }
        for job in self
            .entitlement_jobs
            .values()
            .filter(|j| j.status == "IN_PROGRESS")
        {
            pending.push(Pending {
                due_ms: job.due_ms,
                what: PendingKind::EntitlementJob(job.id.clone()),
            });
        }
        self.pending = pending;
    }

    /// Register an operation that finishes at `due_ms`.
    pub(crate) fn schedule(&mut self, due_ms: u64, what: PendingKind) {
        self.pending.push(Pending { due_ms, what });
    }

    /// Apply every operation due at `now`, oldest first.
    pub fn advance(&mut self, now: u64) {
        if !self.pending.iter().any(|p| p.due_ms <= now) {
            return;
        }
        let (mut due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.due_ms <= now);
        self.pending = rest;
        due.sort_by_key(|p| p.due_ms);
        for pending in due {
            let at = pending.due_ms;
            match pending.what {
                PendingKind::CfJob(guid) => self.finish_cf_job(&guid, at),
                PendingKind::SmOperation(id) => self.finish_sm_operation(&id, at),
                PendingKind::EntitlementJob(id) => self.finish_entitlement_job(&id, at),
            }
        }
    }

    fn finish_cf_job(&mut self, guid: &str, now: u64) {
        use super::JobEffect::*;
        let Some(job) = self.jobs.get(guid).cloned() else {
            return;
        };
        let mut errors = Vec::new();
        if let Some(message) = &job.failure {
            let verb = match &job.effect {
                InstanceCreate { .. } => "create managed",
                InstanceUpdate { .. } => "update managed",
                InstanceDelete { .. } => "delete managed",
                KeyCreate { .. } => "create key",
                KeyDelete { .. } => "delete key",
                SpaceDelete { .. } => "delete space",
                RoleDelete { .. } => "delete role",
            };
            errors.push(json!({
                "detail": format!("{verb} could not be completed: {message}"),
                "title": "CF-UnableToPerform",
                "code": 10009,
            }));
            let failed = |op: &mut LastOperation| {
                op.state = "failed".to_owned();
                op.description = Some(message.clone());
                op.updated_ms = now;
            };
            match &job.effect {
                InstanceCreate { instance }
                | InstanceUpdate { instance, .. }
                | InstanceDelete { instance } => {
                    if let Some(i) = self.service_instances.get_mut(instance) {
                        failed(&mut i.last_operation);
                        i.updated_ms = now;
                    }
                }
                KeyCreate { key } | KeyDelete { key } => {
                    if let Some(k) = self.service_keys.get_mut(key) {
                        failed(&mut k.last_operation);
                        k.updated_ms = now;
                    }
                }
                SpaceDelete { .. } | RoleDelete { .. } => {}
            }
        } else {
            match &job.effect {
                InstanceCreate { instance } => {
                    if let Some(i) = self.service_instances.get_mut(instance) {
                        i.last_operation = LastOperation::succeeded("create", now);
                        i.updated_ms = now;
                    }
                }
                InstanceUpdate {
                    instance,
                    parameters,
                    plan,
                } => {
                    if let Some(i) = self.service_instances.get_mut(instance) {
                        if let Some(p) = parameters {
                            i.parameters = p.clone();
                        }
                        if let Some(p) = plan {
                            i.plan = Some(p.clone());
                        }
                        i.last_operation = LastOperation::succeeded("update", now);
                        i.updated_ms = now;
                    }
                }
                InstanceDelete { instance } => self.remove_instance(instance),
                KeyCreate { key } => {
                    if let Some(k) = self.service_keys.get_mut(key) {
                        k.last_operation = LastOperation::succeeded("create", now);
                        k.last_operation.description = None;
                        k.updated_ms = now;
                    }
                }
                KeyDelete { key } => {
                    self.service_keys.shift_remove(key);
                }
                RoleDelete { role } => {
                    self.roles.shift_remove(role);
                }
                SpaceDelete { space } => {
                    let busy: Vec<String> = self
                        .service_instances
                        .values()
                        .filter(|i| &i.space == space && i.last_operation.in_progress())
                        .map(|i| i.name.clone())
                        .collect();
                    if busy.is_empty() {
                        let doomed: Vec<String> = self
                            .service_instances
                            .values()
                            .filter(|i| &i.space == space)
                            .map(|i| i.guid.clone())
                            .collect();
                        for instance in doomed {
                            self.remove_instance(&instance);
                        }
                        self.roles.retain(|_, r| r.space.as_ref() != Some(space));
                        self.spaces.shift_remove(space);
                    } else {
                        let detail = busy
                            .iter()
                            .map(|n| {
                                format!("An operation for service instance {n} is in progress.")
                            })
                            .collect::<Vec<_>>()
                            .join("\n");
                        errors.push(json!({
                            "detail": format!("Deletion of space {space} failed because one or more resources within could not be deleted.\n\n{detail}"),
                            "title": "CF-SpaceDeletionFailed",
                            "code": 290008,
                        }));
                    }
                }
            }
        }
        if let Some(job) = self.jobs.get_mut(guid) {
            job.finished = Some(
                if errors.is_empty() {
                    "COMPLETE"
                } else {
                    "FAILED"
                }
                .to_owned(),
            );
            job.errors = errors;
        }
    }

    /// Remove a CF instance with its keys (a delete deletes the keys too, btp-api.md §2.7).
    fn remove_instance(&mut self, instance: &str) {
        self.service_keys.retain(|_, k| k.instance != instance);
        self.service_instances.shift_remove(instance);
    }

    fn finish_sm_operation(&mut self, id: &str, now: u64) {
        let Some(op) = self.sm_operations.get(id).cloned() else {
            return;
        };
        let failed = op.failure.is_some();
        let instances = op.resource_kind == "service_instances";
        match (op.kind.as_str(), failed) {
            ("create", false) | ("update", false) if instances => {
                if let Some(i) = self.sm_instances.get_mut(&op.resource_id) {
                    i.ready = true;
                    i.usable = true;
                    if let Some(p) = &op.new_parameters {
                        i.parameters = p.clone();
                    }
                    i.updated_ms = now;
                }
            }
            ("create", false) => {
                if let Some(b) = self.sm_bindings.get_mut(&op.resource_id) {
                    b.ready = true;
                    b.updated_ms = now;
                }
            }
            ("delete", false) if instances => {
                self.sm_bindings.retain(|_, b| b.instance != op.resource_id);
                self.sm_instances.shift_remove(&op.resource_id);
            }
            ("delete", false) => {
                self.sm_bindings.shift_remove(&op.resource_id);
            }
            (_, _) => {
                if let Some(i) = self.sm_instances.get_mut(&op.resource_id) {
                    i.updated_ms = now;
                    if op.kind == "create" {
                        i.usable = false;
                    }
                }
            }
        }
        if let Some(op) = self.sm_operations.get_mut(id) {
            op.state = if failed { "failed" } else { "succeeded" }.to_owned();
            if let Some(message) = &op.failure {
                op.description = message.clone();
            }
            op.updated_ms = now;
        }
    }

    fn finish_entitlement_job(&mut self, id: &str, now: u64) {
        let Some(job) = self.entitlement_jobs.get(id).cloned() else {
            return;
        };
        for change in &job.changes {
            let Some(sub) = self.subaccounts.get_mut(&change.subaccount) else {
                continue;
            };
            let position = sub
                .entitlements
                .iter()
                .position(|a| a.service == change.service && a.plan == change.plan);
            // Worlds saved before failures were per subaccount carry only the job's.
            let per_change = job.changes.iter().any(|c| c.failure.is_some());
            let failure = if per_change {
                change.failure.as_ref()
            } else {
                job.failure.as_ref()
            };
            match (failure, position) {
                (Some(message), Some(i)) => {
                    let a = &mut sub.entitlements[i];
                    if a.state == "STARTED" {
                        // A new assignment that failed never took effect.
                        a.amount = 0;
                    }
                    a.state = "PROCESSING_FAILED".to_owned();
                    a.state_message = message.clone();
                    a.modified_ms = now;
                }
                (None, Some(i)) if change.amount == 0 => {
                    sub.entitlements.remove(i);
                }
                (None, Some(i)) => {
                    let a = &mut sub.entitlements[i];
                    a.amount = change.amount;
                    a.state = "OK".to_owned();
                    a.state_message = "Succeeded to update assignment of service plan.".to_owned();
                    a.modified_ms = now;
                }
                (_, None) => {}
            }
            sub.modified_ms = now;
        }
        if let Some(job) = self.entitlement_jobs.get_mut(id) {
            job.status = if job.failure.is_some() {
                "FAILED"
            } else {
                "COMPLETED"
            }
            .to_owned();
        }
    }
}

//! The last-operation vocabulary shared by Cloud Foundry service instances and credential bindings
//! and by Service Manager instances, bindings and operations (btp-api.md §2.7, §4.3).

use std::fmt;

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationType {
    /// `create`.
    Create,
    /// `update`.
    Update,
    /// `delete`.
    Delete,
    /// Anything else, as sent.
    Other(String),
}

impl OperationType {
    /// Parses the API's value; Service Manager sends lowercase although its spec says uppercase
    /// (btp-api.md §4.3 quirks), so case is ignored.
    pub fn parse(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "create" => OperationType::Create,
            "update" => OperationType::Update,
            "delete" => OperationType::Delete,
            _ => OperationType::Other(value.to_owned()),
        }
    }
}

impl fmt::Display for OperationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationType::Create => "create",
            OperationType::Update => "update",
            OperationType::Delete => "delete",
            OperationType::Other(other) => other,
        })
    }
}

/// How far an operation got.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationState {
    /// `initial`: the broker has not answered yet (CF).
    Initial,
    /// `in progress`.
    InProgress,
    /// `succeeded`.
    Succeeded,
    /// `failed`.
    Failed,
    /// Anything else, as sent.
    Other(String),
}

impl OperationState {
    /// Parses the API's value, ignoring case.
    pub fn parse(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "initial" => OperationState::Initial,
            "in progress" | "in_progress" | "pending" => OperationState::InProgress,
            "succeeded" => OperationState::Succeeded,
            "failed" => OperationState::Failed,
            _ => OperationState::Other(value.to_owned()),
        }
    }

    /// True while the operation may still change state.
    pub fn is_pending(&self) -> bool {
        matches!(self, OperationState::Initial | OperationState::InProgress)
    }
}

impl fmt::Display for OperationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationState::Initial => "initial",
            OperationState::InProgress => "in progress",
            OperationState::Succeeded => "succeeded",
            OperationState::Failed => "failed",
            OperationState::Other(other) => other,
        })
    }
}

/// The last operation on an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastOperation {
    /// What it did.
    pub kind: OperationType,
    /// How far it got.
    pub state: OperationState,
    /// The broker's or platform's message; for a failure, why.
    pub description: Option<String>,
    /// When it last changed (as sent: RFC 3339).
    pub updated_at: Option<String>,
}

//! Docker's errors → the backend's neutral ones.
//!
//! The controller decides what to do from the kind (a conflict on create
//! means "already there", a missing image means "build images first"), and
//! shows the engine's own message otherwise, so the mapping is one pure
//! function of the verb and the HTTP status, tested without a daemon.

use enshu_backend::BackendError;

/// The backend verb that failed, with what it acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb<'a> {
    CreateNetwork,
    InspectNetwork,
    RemoveNetwork,
    ConnectNetwork,
    CreateContainer { image: &'a str },
    InspectContainer,
    StartContainer,
    StopContainer,
    RemoveContainer,
    RemoveVolume,
    List,
    Exec,
    CopyIn,
}

impl Verb<'_> {
    /// The verb as the error message says it.
    pub fn action(self) -> &'static str {
        match self {
            Verb::CreateNetwork => "create network",
            Verb::InspectNetwork => "inspect network",
            Verb::RemoveNetwork => "remove network",
            Verb::ConnectNetwork => "connect network",
            Verb::CreateContainer { .. } => "create container",
            Verb::InspectContainer => "inspect container",
            Verb::StartContainer => "start container",
            Verb::StopContainer => "stop container",
            Verb::RemoveContainer => "remove container",
            Verb::RemoveVolume => "remove volume",
            Verb::List => "list",
            Verb::Exec => "exec in",
            Verb::CopyIn => "copy into",
        }
    }

    /// The kind of object the verb names.
    pub fn object(self) -> &'static str {
        match self {
            Verb::CreateNetwork | Verb::InspectNetwork | Verb::RemoveNetwork => "network",
            Verb::RemoveVolume => "volume",
            Verb::List => "label set",
            _ => "container",
        }
    }
}

/// What the engine answered, reduced to what the mapping needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineFailure {
    /// An HTTP error status with Docker's message.
    Status { status: u16, message: String },
    /// No answer at all (socket, protocol, decoding).
    Transport(String),
}

impl From<bollard::errors::Error> for EngineFailure {
    fn from(error: bollard::errors::Error) -> Self {
        match error {
            bollard::errors::Error::DockerResponseServerError {
                status_code,
                message,
            } => EngineFailure::Status {
                status: status_code,
                message,
            },
            other => EngineFailure::Transport(other.to_string()),
        }
    }
}

/// The neutral error for a failed verb on `name`.
pub fn backend_error(verb: Verb<'_>, name: &str, failure: EngineFailure) -> BackendError {
    let runtime = |message: String| BackendError::Runtime {
        action: verb.action(),
        name: name.to_string(),
        message,
    };
    match failure {
        EngineFailure::Status {
            status: 404,
            message,
        } => match verb {
            // "No such image: enshu/web:latest"; a missing network says "network … not found".
            Verb::CreateContainer { image } if message.to_lowercase().contains("image") => {
                BackendError::MissingImage {
                    image: image.to_string(),
                }
            }
            Verb::CreateContainer { .. } | Verb::ConnectNetwork | Verb::List => runtime(message),
            _ => BackendError::NotFound {
                object: verb.object(),
                name: name.to_string(),
            },
        },
        EngineFailure::Status {
            status: 409,
            message,
        } => match verb {
            Verb::CreateNetwork | Verb::CreateContainer { .. } => BackendError::Conflict {
                object: verb.object(),
                name: name.to_string(),
            },
            _ => runtime(message),
        },
        EngineFailure::Status { message, .. } => runtime(message),
        EngineFailure::Transport(message) => runtime(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, message: &str) -> EngineFailure {
        EngineFailure::Status {
            status,
            message: message.to_string(),
        }
    }

    #[test]
    fn conflicts_on_create_are_conflicts() {
        let error = backend_error(
            Verb::CreateContainer {
                image: "enshu/web:latest",
            },
            "c1",
            status(409, "name in use"),
        );
        assert!(
            matches!(error, BackendError::Conflict { object: "container", ref name } if name == "c1"),
            "{error:?}"
        );
        let error = backend_error(Verb::CreateNetwork, "n1", status(409, "exists"));
        assert!(
            matches!(
                error,
                BackendError::Conflict {
                    object: "network",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_conflict_elsewhere_keeps_dockers_message() {
        let error = backend_error(Verb::Exec, "c1", status(409, "Container c1 is not running"));
        assert_eq!(
            error.to_string(),
            "exec in \"c1\": Container c1 is not running"
        );
    }

    #[test]
    fn missing_images_are_told_apart_from_missing_networks() {
        let image = backend_error(
            Verb::CreateContainer {
                image: "enshu/web:latest",
            },
            "c1",
            status(404, "No such image: enshu/web:latest"),
        );
        assert!(
            matches!(image, BackendError::MissingImage { ref image } if image == "enshu/web:latest"),
            "{image:?}"
        );
        let network = backend_error(
            Verb::CreateContainer {
                image: "enshu/web:latest",
            },
            "c1",
            status(404, "network n1 not found"),
        );
        assert_eq!(
            network.to_string(),
            "create container \"c1\": network n1 not found"
        );
    }

    #[test]
    fn missing_objects_are_not_found() {
        let error = backend_error(
            Verb::RemoveContainer,
            "c1",
            status(404, "No such container: c1"),
        );
        assert!(
            matches!(
                error,
                BackendError::NotFound {
                    object: "container",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = backend_error(
            Verb::RemoveNetwork,
            "n1",
            status(404, "network n1 not found"),
        );
        assert!(
            matches!(
                error,
                BackendError::NotFound {
                    object: "network",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn other_failures_carry_the_engine_message() {
        let error = backend_error(
            Verb::RemoveNetwork,
            "n1",
            status(403, "network n1 has active endpoints"),
        );
        assert_eq!(
            error.to_string(),
            "remove network \"n1\": network n1 has active endpoints"
        );
        let error = backend_error(
            Verb::StartContainer,
            "c1",
            EngineFailure::Transport("socket closed".into()),
        );
        assert_eq!(error.to_string(), "start container \"c1\": socket closed");
    }
}

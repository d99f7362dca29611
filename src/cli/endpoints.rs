//! One typed method per `/v1` endpoint the CLI calls, so that the commands never build URLs.

use super::client::{Client, ClientError};
use crate::api::{
    ContextInfo, CreateToken, Credential, NewToken, PruneReport, PruneRequest, RerunRequest, Run, RunFilter, RunPage,
    Task, TaskRunRequest, Timer, TokenInfo,
};
use bytes::Bytes;
use futures_util::Stream;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

impl Client {
    async fn get_json<T: DeserializeOwned>(&self, path: &[&str], query: &[(&str, String)]) -> Result<T, ClientError> {
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let rb = self.call(Method::GET, url);
        Client::json(self.send(rb).await?).await
    }

    async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        let rb = self.call(method, self.url(path)).json(body);
        Client::json(self.send(rb).await?).await
    }

    async fn delete(&self, path: &[&str]) -> Result<(), ClientError> {
        self.send(self.call(Method::DELETE, self.url(path))).await.map(drop)
    }

    /// For sub-resources whose answer body the CLI does not need (it lists them again to show
    /// them), so that either the item or the whole task may come back.
    async fn send_ignoring_body<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &[&str],
        body: &B,
    ) -> Result<(), ClientError> {
        self.send(self.call(method, self.url(path)).json(body)).await.map(drop)
    }

    /// `POST /v1/contexts`: streams a tar (chunked) and returns its id.
    pub async fn upload_context<S>(&self, tar: S) -> Result<ContextInfo, ClientError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let rb = self
            .stream_call(Method::POST, self.url(&["contexts"]))
            .header(CONTENT_TYPE, "application/x-tar")
            .body(reqwest::Body::wrap_stream(tar));
        Client::json(self.send(rb).await?).await
    }

    /// `GET /v1/info`.
    pub async fn info(&self) -> Result<crate::api::DaemonInfo, ClientError> {
        self.get_json(&["info"], &[]).await
    }

    /// `POST /v1/runs`: queues a quick build or quick run.
    pub async fn create_run(&self, request: &crate::api::RunRequest) -> Result<Run, ClientError> {
        self.send_json(Method::POST, &["runs"], request).await
    }

    /// `GET /v1/runs?…`.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<RunPage, ClientError> {
        let mut query = Vec::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                query.push((k, v));
            }
        };
        put("task", filter.task.clone());
        put("status", filter.status.map(|s| s.as_str().to_string()));
        put("image", filter.image.clone());
        put("trigger", filter.trigger.clone());
        put("top", filter.top.map(|t| t.to_string()));
        put("before", filter.before.clone());
        self.get_json(&["runs"], &query).await
    }

    /// `GET /v1/runs/{id}`.
    pub async fn get_run(&self, id: &str) -> Result<Run, ClientError> {
        self.get_json(&["runs", id], &[]).await
    }

    /// `POST /v1/runs/{id}/cancel`.
    pub async fn cancel_run(&self, id: &str) -> Result<Run, ClientError> {
        self.send_json(Method::POST, &["runs", id, "cancel"], &serde_json::json!({})).await
    }

    /// `POST /v1/runs/{id}/rerun`.
    pub async fn rerun_run(&self, id: &str, req: &RerunRequest) -> Result<Run, ClientError> {
        self.send_json(Method::POST, &["runs", id, "rerun"], req).await
    }

    /// `POST /v1/runs/{id}/resume`.
    pub async fn resume_run(&self, id: &str, req: &crate::api::ResumeRequest) -> Result<Run, ClientError> {
        self.send_json(Method::POST, &["runs", id, "resume"], req).await
    }

    /// `POST /v1/runs/{id}/approve` or `/reject`.
    pub async fn decide_run(&self, id: &str, approve: bool, reason: Option<&str>) -> Result<Run, ClientError> {
        let verb = if approve { "approve" } else { "reject" };
        self.send_json(Method::POST, &["runs", id, verb], &serde_json::json!({ "reason": reason })).await
    }

    /// `GET /v1/runs/{id}/logs` as text: the log so far.
    pub async fn log_text(&self, id: &str) -> Result<String, ClientError> {
        let response = self.send(self.call(Method::GET, self.url(&["runs", id, "logs"]))).await?;
        let url = response.url().to_string();
        response.text().await.map_err(|e| ClientError::Transport { url, cause: e.to_string() })
    }

    /// `GET /v1/runs/{id}/logs` as Server-Sent Events, resuming after `last_event_id`.
    pub async fn log_events(&self, id: &str, last_event_id: Option<&str>) -> Result<Response, ClientError> {
        let mut rb = self.stream_call(Method::GET, self.url(&["runs", id, "logs"])).header(ACCEPT, "text/event-stream");
        if let Some(last) = last_event_id {
            rb = rb.header("Last-Event-ID", last);
        }
        self.send(rb).await
    }

    /// `GET /v1/tasks`.
    pub async fn list_tasks(&self) -> Result<Vec<Task>, ClientError> {
        self.get_json(&["tasks"], &[]).await
    }

    /// `POST /v1/tasks`.
    pub async fn create_task(&self, task: &Task) -> Result<Task, ClientError> {
        self.send_json(Method::POST, &["tasks"], task).await
    }

    /// `GET /v1/tasks/{name}`, with secrets only when asked.
    pub async fn get_task(&self, name: &str, with_secure_properties: bool) -> Result<Task, ClientError> {
        let query: Vec<(&str, String)> =
            if with_secure_properties { vec![("with_secure_properties", "true".into())] } else { vec![] };
        self.get_json(&["tasks", name], &query).await
    }

    /// `PATCH /v1/tasks/{name}` with a JSON merge patch (RFC 7386).
    pub async fn patch_task(&self, name: &str, patch: &serde_json::Value) -> Result<Task, ClientError> {
        let rb = self
            .call(Method::PATCH, self.url(&["tasks", name]))
            .header(CONTENT_TYPE, "application/merge-patch+json")
            .body(patch.to_string());
        Client::json(self.send(rb).await?).await
    }

    /// `DELETE /v1/tasks/{name}`.
    pub async fn delete_task(&self, name: &str) -> Result<(), ClientError> {
        self.delete(&["tasks", name]).await
    }

    /// `POST /v1/tasks/{name}/runs`.
    pub async fn run_task(&self, name: &str, request: &TaskRunRequest) -> Result<Run, ClientError> {
        self.send_json(Method::POST, &["tasks", name, "runs"], request).await
    }

    /// `GET /v1/tasks/{name}/timers`.
    pub async fn list_timers(&self, task: &str) -> Result<Vec<Timer>, ClientError> {
        self.get_json(&["tasks", task, "timers"], &[]).await
    }

    /// `POST /v1/tasks/{name}/timers`.
    pub async fn add_timer(&self, task: &str, timer: &Timer) -> Result<(), ClientError> {
        self.send_ignoring_body(Method::POST, &["tasks", task, "timers"], timer).await
    }

    /// `PUT /v1/tasks/{name}/timers/{timer}`.
    pub async fn put_timer(&self, task: &str, timer: &Timer) -> Result<(), ClientError> {
        self.send_ignoring_body(Method::PUT, &["tasks", task, "timers", &timer.name], timer).await
    }

    /// `GET /v1/tasks/{name}/timer-events`.
    pub async fn timer_events(&self, task: &str, top: u32) -> Result<Vec<crate::api::TimerEvent>, ClientError> {
        self.get_json(&["tasks", task, "timer-events"], &[("top", top.to_string())]).await
    }

    /// `DELETE /v1/tasks/{name}/timers/{timer}`.
    pub async fn remove_timer(&self, task: &str, timer: &str) -> Result<(), ClientError> {
        self.delete(&["tasks", task, "timers", timer]).await
    }

    /// `GET /v1/tasks/{name}/credentials` (passwords redacted).
    pub async fn list_credentials(&self, task: &str) -> Result<Vec<Credential>, ClientError> {
        self.get_json(&["tasks", task, "credentials"], &[]).await
    }

    /// `POST /v1/tasks/{name}/credentials`.
    pub async fn add_credential(&self, task: &str, credential: &Credential) -> Result<(), ClientError> {
        self.send_ignoring_body(Method::POST, &["tasks", task, "credentials"], credential).await
    }

    /// `DELETE /v1/tasks/{name}/credentials/{login_server}`.
    pub async fn remove_credential(&self, task: &str, login_server: &str) -> Result<(), ClientError> {
        self.delete(&["tasks", task, "credentials", login_server]).await
    }

    /// `GET /v1/tokens`.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, ClientError> {
        self.get_json(&["tokens"], &[]).await
    }

    /// `POST /v1/tokens`.
    pub async fn create_token(&self, name: &str) -> Result<NewToken, ClientError> {
        self.send_json(Method::POST, &["tokens"], &CreateToken { name: name.to_string() }).await
    }

    /// `DELETE /v1/tokens/{id}`.
    pub async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        self.delete(&["tokens", id]).await
    }

    /// `POST /v1/prune`.
    pub async fn prune(&self, req: &PruneRequest) -> Result<PruneReport, ClientError> {
        self.send_json(Method::POST, &["prune"], req).await
    }
}

//! Beacon Status API: state and handlers.

use beacon_spec::status::{CreateIncident, Incident, IncidentId, Page, StatusData};
use beacon_spec::{StatusOperation, model};
use bytes::Bytes;
use http::{Response, StatusCode};
use parking_lot::RwLock;

use crate::call::Call;
use crate::clock;
use crate::defect::Defect;
use crate::error::{ApiError, headless_json};
use crate::fixtures::StatusFixtures;

/// In-memory state of the Status API, seeded from fixtures. Every transition is the
/// contract's model (`beacon_spec::model`); this only stores its results.
#[derive(Debug)]
pub(crate) struct StatusState {
    workspaces: Vec<Vec<PageState>>,
    defect: Option<Defect>,
}

#[derive(Debug)]
struct PageState {
    page: Page,
    /// Oldest first; listed newest first.
    incidents: Vec<Incident>,
    /// The list of the first read, under [`Defect::StaleIncidentList`].
    stale: Option<Vec<Incident>>,
}

impl StatusState {
    pub(crate) fn new(fixtures: &StatusFixtures, defect: Option<Defect>) -> Self {
        let workspaces = fixtures
            .workspaces
            .iter()
            .map(|w| {
                w.pages
                    .iter()
                    .map(|p| {
                        let mut incidents = p.incidents.clone();
                        incidents.sort_by(|a, b| a.created_at.cmp(&b.created_at));
                        PageState {
                            page: p.page.clone(),
                            incidents,
                            stale: None,
                        }
                    })
                    .collect()
            })
            .collect();
        Self { workspaces, defect }
    }

    /// The workspace's pages; none for an index a fixture reload removed.
    fn pages(&self, workspace: usize) -> &[PageState] {
        self.workspaces.get(workspace).map_or(&[], Vec::as_slice)
    }

    fn page_index(&self, workspace: usize, slug: &str) -> Result<usize, ApiError> {
        self.pages(workspace)
            .iter()
            .position(|p| p.page.slug.as_str() == slug)
            .ok_or_else(|| page_not_found(slug))
    }

    fn page(&self, workspace: usize, slug: &str) -> Result<&PageState, ApiError> {
        Ok(&self.workspaces[workspace][self.page_index(workspace, slug)?])
    }
}

fn page_not_found(slug: &str) -> ApiError {
    ApiError::NotFound(format!("Page `{slug}` not found"))
}

fn data<T: serde::Serialize>(status: StatusCode, payload: T) -> Response<Bytes> {
    headless_json(
        status,
        serde_json::to_vec(&StatusData { data: payload }).expect("wire types serialize"),
    )
}

/// Handles one authenticated, rate-limited Status operation for `workspace`.
///
/// A write parses and validates its body before it takes the state's write lock, then
/// looks the page up under the lock: an unknown page is 404 whatever the body.
pub(crate) fn handle(
    state: &RwLock<StatusState>,
    op: StatusOperation,
    call: &Call<'_>,
    workspace: usize,
) -> Result<Response<Bytes>, ApiError> {
    let slug = call.param("slug");
    match op {
        StatusOperation::ListPages => {
            let state = state.read();
            let pages: Vec<&Page> = state.pages(workspace).iter().map(|p| &p.page).collect();
            Ok(data(StatusCode::OK, pages))
        }
        StatusOperation::GetPage => {
            let state = state.read();
            Ok(data(StatusCode::OK, &state.page(workspace, slug)?.page))
        }
        StatusOperation::ListIncidents => {
            if state.read().defect == Some(Defect::StaleIncidentList) {
                let mut state = state.write();
                let index = state.page_index(workspace, slug)?;
                let page = &mut state.workspaces[workspace][index];
                let stale = page.stale.get_or_insert_with(|| page.incidents.clone());
                let newest_first: Vec<&Incident> = model::incidents_listed(stale).collect();
                return Ok(data(StatusCode::OK, newest_first));
            }
            let state = state.read();
            let page = state.page(workspace, slug)?;
            let newest_first: Vec<&Incident> = model::incidents_listed(&page.incidents).collect();
            Ok(data(StatusCode::OK, newest_first))
        }
        StatusOperation::CreateIncident => {
            let request = call.body::<CreateIncident>();
            let mut state = state.write();
            let index = state.page_index(workspace, slug)?;
            let request = request?;
            let page = &mut state.workspaces[workspace][index];
            let id = IncidentId(format!("inc_{}", clock::random_string(clock::HEX, 12)));
            let incident = model::create_incident(
                &page.page.id,
                page.incidents.len(),
                request,
                id,
                clock::now(),
            )?;
            page.incidents.push(incident.clone());
            Ok(data(StatusCode::CREATED, incident))
        }
    }
}

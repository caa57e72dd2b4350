//! CF jobs: `GET /v3/jobs/:guid`, polled with backoff until `COMPLETE` or `FAILED`
//! (btp-api.md §2.9). A job answers 200 even when it failed; the failure is in `state`/`errors`.

use reqwest::Method;

use super::{CfClient, Job, JobState, wire};
use crate::error::{Api, Error};

impl CfClient {
    /// Reads a job by GUID.
    pub async fn get_job(&self, guid: &str) -> Result<Job, Error> {
        let job: wire::Job = self.get(&format!("/v3/jobs/{guid}")).await?;
        Ok(job.into())
    }

    /// Waits for the job at `location` (the `Location` header of a 202, an absolute URL on the
    /// API's host) to finish. Returns the completed job, or [`Error::JobFailed`] with the job's
    /// errors, or [`Error::Timeout`] after [`operation_timeout`](crate::ClientConfig).
    pub async fn wait_for_job(&self, location: &str) -> Result<Job, Error> {
        let url = self.endpoint.resolve(location)?;
        let job_guid = url.path().rsplit('/').next().unwrap_or_default().to_owned();
        let what = format!("job {job_guid}");
        let job = self
            .btp
            .poll_started(Api::CloudFoundry, &what, || {
                let url = url.clone();
                async move {
                    let response = self.btp.execute(&self.request(Method::GET, url)).await?;
                    let job: Job = response.json::<wire::Job>()?.into();
                    Ok(match job.state {
                        JobState::Complete | JobState::Failed => Ok(job),
                        ref state => Err(format!("{state} ({})", job.operation)),
                    })
                }
            })
            .await?;
        if job.state == JobState::Failed {
            return Err(Error::JobFailed {
                api: Api::CloudFoundry,
                job_guid: job.guid,
                operation: job.operation,
                errors: job.errors,
                resource_guid: job.resource.map(|r| r.guid),
            });
        }
        Ok(job)
    }
}

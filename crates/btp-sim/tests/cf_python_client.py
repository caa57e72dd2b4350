"""Third-party client check: cloudfoundry-client (PyPI, not written here) against btp-sim.

Run by tests/it/python.rs with a virtualenv that has cloudfoundry-client==1.40.4. Argument: the
simulator's base URL. The world must have the org `python-org` whose subaccount holds the
SAPCloudALMAPIs/standard entitlement, and the login admin/admin, Org Manager of that org and
nothing more (what BTP gives the user who enables Cloud Foundry). Every step asserts what BTP
would answer; any exception fails the test.
"""
import sys

from cloudfoundry_client.client import CloudFoundryClient
from cloudfoundry_client.errors import InvalidStatusCode

base = sys.argv[1]

# 1. Log in (GET / then the password grant with client `cf`).
client = CloudFoundryClient(base, verify=False)
client.init_with_user_credentials("admin", "admin")

# 2. Find an org by name.
org = client.v3.organizations.get_first(names="python-org")
assert org is not None, "org python-org not found"
org_guid = org["guid"]

# 3. Create a space.
space = client.v3.spaces.create("py-space", org_guid)
space_guid = space["guid"]
assert space["name"] == "py-space"
assert any(s["guid"] == space_guid for s in client.v3.spaces.list(organization_guids=org_guid))

# 3b. An Org Manager is no Space Developer: an instance in the new space is refused (403) until
#     the user makes itself an Org User and then a Space Developer, as `cf create-space` does.
me = client.v3.users.get_first(usernames="admin")
assert me is not None and me["origin"] == "uaa", me
try:
    client.v3.service_instances.create("py-early", space_guid, "any-plan")
    raise AssertionError("an Org Manager created an instance")
except InvalidStatusCode as e:
    assert e.status_code.value == 403, e
    assert e.body["errors"][0]["code"] == 10003, e.body
client.v3.roles._create({"type": "organization_user", "relationships": {
    "organization": {"data": {"guid": org_guid}}, "user": {"data": {"guid": me["guid"]}}}})
developer = client.v3.roles._create({"type": "space_developer", "relationships": {
    "space": {"data": {"guid": space_guid}}, "user": {"data": {"username": "admin", "origin": "uaa"}}}})
assert developer["relationships"]["user"]["data"]["guid"] == me["guid"], developer
mine = [r["type"] for r in client.v3.roles.list(user_guids=me["guid"], space_guids=space_guid)]
assert mine == ["space_developer"], mine

# 4. Look up the SAPCloudALMAPIs plan.
offering = client.v3.service_offerings.get_first(names="SAPCloudALMAPIs")
assert offering is not None, "offering not visible"
plan = client.v3.service_plans.get_first(names="standard", service_offering_guids=offering["guid"])
assert plan is not None, "plan not visible"

# 5. Create a managed instance with parameters and wait for its job.
parameters = {"xs-security": {"xsappname": "py-calm", "authorities": ["$XSMASTERAPPNAME.calm-api.landscape.read"]}}
created = client.v3.service_instances.create(
    "py-calm", space_guid, plan["guid"], parameters=parameters, tags=["calm"],
    meta_labels={"calmctl.io/managed-by": "python"}, meta_annotations={"note": "third-party client"},
)
job = created.job()
job_guid = job["guid"]
client.v3.jobs.wait_for_job_completion(job_guid)
assert client.v3.jobs.get(job_guid)["state"] == "COMPLETE"
instance = client.v3.service_instances.get_first(names="py-calm", space_guids=space_guid)
assert instance is not None
assert instance["last_operation"]["state"] == "succeeded", instance["last_operation"]
assert instance["metadata"]["labels"]["calmctl.io/managed-by"] == "python"
instance_guid = instance["guid"]

# 6. Create a service key and read its details.
key_job = client.v3.service_credential_bindings.create("py-key", "key", instance_guid, None, None, None, None, asynchronous=True)
client.v3.jobs.wait_for_job_completion(key_job)
key = client.v3.service_credential_bindings.get_first(names="py-key", service_instance_guids=instance_guid)
assert key is not None
details = client.v3.service_credential_bindings.get(key["guid"], "details")
credentials = details["credentials"]
assert credentials["uaa"]["url"] == base, credentials["uaa"]["url"]
assert credentials["endpoints"]["Api"].startswith(base)
assert credentials["uaa"]["credential-type"] == "binding-secret"

# 7. List with filters (several values, comma-encoded by the client; a label selector).
names = [i["name"] for i in client.v3.service_instances.list(names=["py-calm", "other, with comma"], space_guids=space_guid)]
assert names == ["py-calm"], names
selected = list(client.v3.service_instances.list(label_selector="calmctl.io/managed-by=python"))
assert [i["guid"] for i in selected] == [instance_guid]
assert list(client.v3.service_instances.list(label_selector="calmctl.io/managed-by notin (python)")) == []

# 8. Delete: key, instance, space; then 404s.
client.v3.service_credential_bindings._remove(key["guid"], asynchronous=False)
client.v3.service_instances.remove(instance_guid, asynchronous=False)
try:
    client.v3.service_instances.get(instance_guid)
    raise AssertionError("instance still there")
except InvalidStatusCode as e:
    assert e.status_code.value == 404, e
client.v3.spaces._remove(space_guid, False)
try:
    client.v3.spaces.get(space_guid)
    raise AssertionError("space still there")
except InvalidStatusCode as e:
    assert e.status_code.value == 404, e

print("cloudfoundry-client flows passed")

"""Campaign proposals: where the next CPU-hours buy the most (:mod:`glass_core.learning.campaign_gain`).

:mod:`.state` reads what the platform holds for a system into the gain model's inputs; :mod:`.assets` ranks the
candidate actions (``campaign_proposals``) and judges accepted ones by what they realised; :mod:`.accept` turns a
proposal into a campaign edit (job ``accept_campaign_proposal``, ``python -m glass_assets.proposals accept <id>``);
:mod:`.autopilot` accepts the best within a nightly CPU-hour budget when the campaign asks for it.
"""

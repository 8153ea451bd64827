"""Parts of the Onboarding page: the step list and the demo panel."""

"""The Fleet page: the fleet simulator's live figures, Start/Stop and chaos, over services/fleet_simulator."""

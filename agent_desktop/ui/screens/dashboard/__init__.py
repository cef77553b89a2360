"""The supervisor dashboards: live floor, trends, team & agents, staffing what-if."""

"""Officer dashboards: adoption statistics by area, team and stage; charts; exports."""

-- Completed trips, minutes, distance and takings per driver and UTC day of pickup.
select
    trips.driver_id,
    cast({{ dbt.date_trunc('day', 'trips.pickup_at') }} as date) as activity_date,
    count(*) as completed_trips,
    sum(trips.duration_min) as minutes_driving,
    sum(trips.distance_km) as distance_km,
    sum(trips.total_amount) as gross_amount
from {{ ref('stg_trips') }} trips
where trips.status = 'completed'
group by
    trips.driver_id,
    cast({{ dbt.date_trunc('day', 'trips.pickup_at') }} as date)

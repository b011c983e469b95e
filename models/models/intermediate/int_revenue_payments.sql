-- Payments that count as revenue: not failed, for a known trip, with the trip's
-- pickup city. Ephemeral: inlined into the marts that use it.
select
    payments.payment_id,
    payments.paid_at,
    payments.method,
    payments.amount,
    trips.pickup_city
from {{ ref('stg_payments') }} payments
join {{ ref('stg_trips') }} trips on trips.trip_id = payments.trip_id
where payments.status <> 'failed'

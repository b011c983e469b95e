-- Revenue per UTC day, pickup city and payment method: payments not failed, whose
-- trip is known.
select
    cast({{ dbt.date_trunc('day', 'payments.paid_at') }} as date) as revenue_date,
    trips.pickup_city as city,
    payments.method as payment_method,
    count(*) as payments,
    sum(payments.amount) as revenue
from {{ ref('stg_payments') }} payments
join {{ ref('stg_trips') }} trips on trips.trip_id = payments.trip_id
where payments.status <> 'failed'
group by
    cast({{ dbt.date_trunc('day', 'payments.paid_at') }} as date),
    trips.pickup_city,
    payments.method

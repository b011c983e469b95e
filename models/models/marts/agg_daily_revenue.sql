-- Revenue per UTC day, pickup city and payment method.
select
    cast({{ dbt.date_trunc('day', 'paid_at') }} as date) as revenue_date,
    pickup_city as city,
    method as payment_method,
    count(*) as payments,
    sum(amount) as revenue
from {{ ref('int_revenue_payments') }}
group by
    cast({{ dbt.date_trunc('day', 'paid_at') }} as date),
    pickup_city,
    method

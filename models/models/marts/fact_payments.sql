-- One row per payment, refunds and failures included. A payment whose trip is not
-- known (yet) stays; a warn-severity test reports it.
select
    payments.payment_id,
    payments.trip_id,
    customers.customer_sk,
    methods.payment_method_sk,
    cast({{ dbt.date_trunc('day', 'payments.paid_at') }} as date) as paid_date,
    payments.paid_at,
    payments.amount,
    payments.currency,
    payments.status,
    payments.status = 'refunded' as is_refund,
    payments.status = 'failed' as is_failed
from {{ ref('stg_payments') }} payments
left join {{ ref('dim_payment_method') }} methods on methods.payment_method = payments.method
left join {{ ref('dim_customer') }} customers
    on customers.customer_id = payments.customer_id
    and not customers.is_deleted
    and payments.paid_at >= customers.valid_from
    and (customers.valid_to is null or payments.paid_at < customers.valid_to)

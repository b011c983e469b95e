-- A date spine over the whole years the trips cover.
with bounds as (
    select
        cast({{ dbt.date_trunc('year', 'min(pickup_at)') }} as date) as first_day,
        cast({{ dbt.dateadd('year', 1, dbt.date_trunc('year', 'max(pickup_at)')) }} as date) as end_day
    from {{ ref('stg_trips') }}
),
digits as (
    select digit from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d (digit)
),
offsets as (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit as day_offset
    from digits ones
    cross join digits tens
    cross join digits hundreds
    cross join digits thousands
),
days as (
    select
        cast({{ dbt.dateadd('day', 'offsets.day_offset', 'bounds.first_day') }} as date) as date_day,
        bounds.end_day
    from bounds
    cross join offsets
)
select
    cast(
        date_part('year', date_day) * 10000 + date_part('month', date_day) * 100
        + date_part('day', date_day) as integer
    ) as date_key,
    date_day,
    cast(date_part('year', date_day) as integer) as year,
    cast(date_part('quarter', date_day) as integer) as quarter,
    cast(date_part('month', date_day) as integer) as month,
    cast(date_part('day', date_day) as integer) as day_of_month,
    cast(date_part('dow', date_day) as integer) as day_of_week,
    cast(date_part('dow', date_day) as integer) in (0, 6) as is_weekend
from days
where date_day < end_day
